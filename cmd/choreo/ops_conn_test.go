package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/embedded"
)

func TestOpsUnknownServer(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: taken and released again.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	for _, cmd := range [][]string{{"dlq", "ls"}, {"dlq", "groups"}} {
		code, out, errOut := choreoCtx(t, context.Background(), append(cmd, "-server", url, "-timeout", "5s")...)
		assert.Equal(t, exitFail, code)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "connecting to "+url)
		assert.Contains(t, errOut, "is nats-server running")
		assert.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
	}
}

func TestOpsAuth(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.WithUser("ops", "right-horse-battery"))
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	url := srv.ClientURL()
	const wrong = "wrong-staple-secret"

	code, _, errOut := choreoCtx(t, ctx, "dlq", "ls", "-server", url, "-user", "ops", "-password", wrong)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "the server refused the credentials")
	assert.NotContains(t, errOut, wrong)

	withCreds := strings.Replace(url, "nats://", "nats://ops:"+wrong+"@", 1)
	code, _, errOut = choreoCtx(t, ctx, "dlq", "ls", "-server", withCreds)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "the server refused the credentials")
	assert.NotContains(t, errOut, wrong)
	assert.Contains(t, errOut, "redacted")

	code, out, errOut := choreoCtx(t, ctx, "dlq", "ls", "-server", url, "-user", "ops", "-password", "right-horse-battery", "-namespace", "prod")
	assert.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "no dead letters in namespace prod\n", out)
}
