package embedded_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/embedded"
)

func TestWithConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "server.conf")
	require.NoError(t, os.WriteFile(conf, []byte(`
authorization {
  users = [
    { user: "app", password: $APP_PASSWORD, permissions: { publish: { allow: ["allowed.>", "$JS.API.INFO"] }, subscribe: { allow: ["_INBOX.>"] } } }
  ]
}
`), 0o600))
	t.Setenv("APP_PASSWORD", "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.WithConfigFile(conf))
	require.NoError(t, err)
	defer srv.Shutdown()
	assert.True(t, strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:"), "loopback and a free port unless the file says otherwise: %s", srv.ClientURL())

	_, err = nats.Connect(srv.ClientURL(), nats.UserInfo("app", "wrong"))
	require.Error(t, err, "the file's users are the only way in")

	denied := make(chan error, 1)
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("app", "s3cret"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied <- err }))
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Request("$JS.API.INFO", nil, 5*time.Second)
	require.NoError(t, err, "JetStream is on")
	require.NoError(t, nc.Publish("forbidden.x", nil))
	select {
	case err := <-denied:
		assert.Contains(t, err.Error(), `Permissions Violation for Publish to "forbidden.x"`)
	case <-ctx.Done():
		t.Fatal("the file's permissions were not applied")
	}
}

func TestWithConfigFileErrors(t *testing.T) {
	ctx := context.Background()
	_, err := embedded.Start(ctx, embedded.WithConfigFile(filepath.Join(t.TempDir(), "missing.conf")))
	require.ErrorIs(t, err, embedded.ErrStart)
	bad := filepath.Join(t.TempDir(), "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("authorization { users = [ { user: "), 0o600))
	_, err = embedded.Start(ctx, embedded.WithConfigFile(bad))
	require.ErrorIs(t, err, embedded.ErrStart)
	assert.Contains(t, err.Error(), "bad.conf")
}
