package contract_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The core packages stay light: a service that only sends and handles
// messages links neither the CloudEvents SDK (envelope/cesdk has the
// conversion), nor OpenTelemetry (otelchoreo), nor the NATS server
// (embedded), nor database drivers.
func TestCorePackagesLinkNoHeavyDependencies(t *testing.T) {
	forbidden := map[string][]string{
		"./bus":      {"github.com/cloudevents/", "go.opentelemetry.io/", "github.com/nats-io/nats-server/", "github.com/json-iterator/", "modernc.org/", "github.com/jackc/"},
		"./envelope": {"github.com/cloudevents/", "go.opentelemetry.io/", "github.com/nats-io/nats-server/", "modernc.org/", "github.com/jackc/"},
		"./topic":    {"github.com/nats-io/", "github.com/cloudevents/", "go.opentelemetry.io/", "modernc.org/", "github.com/jackc/"},
		// The database drivers come with package outbox only.
		"./idempotency": {"modernc.org/", "github.com/jackc/"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "../../"+strings.TrimPrefix(pkg, "./")).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, prefix := range bad {
				if strings.HasPrefix(dep, prefix) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
