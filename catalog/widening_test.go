package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

func TestWidening(t *testing.T) {
	parse := func(services string) *catalog.Catalog {
		c, err := catalog.Parse("c.yaml", []byte(`version: 1
topics:
  v1.user.signup: {kind: command}
  v1.user.signedup: {}
  v1.user.deleted: {}
  v1.email.sent: {}
services:
`+services))
		require.NoError(t, err)
		return c
	}
	old := parse(`  accounts: {handles: [v1.user.signup], publishes: [v1.user.signedup]}
  email: {subscribes: [v1.user.signedup], publishes: [v1.email.sent]}
`)
	cur := parse(`  accounts: {handles: [v1.user.signup], publishes: [v1.user.signedup, v1.user.deleted]}
  email: {subscribes: [v1.user.signedup], publishes: [v1.email.sent, v1.user.deleted]}
  web: {sends: [v1.user.signup]}
  rogue: {publishes: [v1.email.sent]}
`)
	ds := catalog.Widening(old, cur)
	var got []string
	for _, d := range ds {
		assert.Equal(t, catalog.RuleWidened, d.Rule)
		assert.Equal(t, catalog.SeverityWarning, d.Severity)
		got = append(got, d.String())
	}
	require.Len(t, got, 2, strings.Join(got, "\n"))
	assert.Contains(t, got[0], "c.yaml:9: warning: service email now publishes v1.user.deleted, an event of entity user, which accounts publishes")
	assert.Contains(t, got[1], "service rogue now publishes v1.email.sent, an event of entity email, which email publishes")
	assert.Contains(t, got[1], "evt.v1.email.sent")
	assert.Empty(t, catalog.Widening(cur, cur), "nothing new, nothing widened")
}
