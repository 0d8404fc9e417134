//go:build tools

// This file pins the module's dependencies while the packages that use them
// are being written; it is removed once every dependency has an importer.
package choreo

import (
	_ "github.com/cloudevents/sdk-go/v2"
	_ "github.com/google/uuid"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/stretchr/testify/require"
	_ "go.yaml.in/yaml/v3"
)
