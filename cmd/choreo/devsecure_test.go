package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// choreo dev -user takes the password from the environment, and the server
// refuses clients without it.
func TestDevWithUserRequiresThePassword(t *testing.T) {
	t.Setenv(envDevPassword, "s3cretPW")
	url, stop := startDev(t, "-port", "0", "-user", "alice")
	nc, err := nats.Connect(url, nats.UserInfo("alice", "s3cretPW"))
	if err == nil {
		nc.Close()
	}
	_, errNoPassword := nats.Connect(url)
	_, out := stop()
	require.NoError(t, err)
	require.ErrorIs(t, errNoPassword, nats.ErrAuthorization)
	require.Contains(t, out, "user alice")
	require.NotContains(t, out, "s3cretPW", "the password is printed")
}

func TestDevWithToken(t *testing.T) {
	t.Setenv(envDevToken, "t0ken")
	url, stop := startDev(t, "-port", "0", "-token")
	defer stop()
	nc, err := nats.Connect(url, nats.Token("t0ken"))
	require.NoError(t, err)
	nc.Close()
	_, err = nats.Connect(url, nats.Token("wrong"))
	require.Error(t, err)
}

func TestDevSecurityFlagErrors(t *testing.T) {
	t.Setenv(envDevPassword, "")
	t.Setenv(envDevToken, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-user", "alice"}, "set $" + envDevPassword},
		{[]string{"-token"}, "set $" + envDevToken},
		{[]string{"-tls-cert", "c.pem"}, "go together"},
		{[]string{"-tls-client-ca", "ca.pem"}, "needs -tls-cert"},
		{[]string{"-tls-cert", "/nonexistent/c.pem", "-tls-key", "/nonexistent/k.pem"}, "-tls-cert"},
		{[]string{"-tls-cert", "/dev/zero", "-tls-key", "/dev/zero"}, "larger than"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"dev", "-port", "0"}, tc.args...), &stdout, &stderr)
		require.Equal(t, exitUsage, code, "%v", tc.args)
		require.Contains(t, stderr.String(), tc.want, "%v", tc.args)
		require.False(t, strings.Contains(stdout.String(), "listening"), "%v started a server", tc.args)
	}
}
