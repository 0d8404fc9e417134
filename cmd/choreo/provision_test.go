package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs one choreo command line in-process.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestGenPermissions(t *testing.T) {
	code, out, stderr := runCLI("gen", "permissions", "-catalog", signupCatalog)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "authorization {")
	assert.Contains(t, out, `user: "choreo-operator"`)
	assert.Contains(t, out, `"cmd.v1.user.signup"`)

	code, out, stderr = runCLI("gen", "permissions", "-catalog", signupCatalog, "-service", "web", "-format", "json", "-namespace", "prod")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, `"prod.cmd.v1.user.signup"`)
	assert.NotContains(t, out, "accounts")

	for _, bad := range [][]string{
		{"-format", "yaml"},
		{"-namespace", "Prod"},
		{"-out", signupCatalog},
	} {
		code, _, stderr = runCLI(append([]string{"gen", "permissions", "-catalog", signupCatalog}, bad...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", bad, stderr)
	}
	code, _, stderr = runCLI("gen", "permissions", "-catalog", signupCatalog, "-service", "nobody")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "services are: accounts, email, metrics, web")
}

// TestDevConfigAndProvision runs `choreo dev -config` on the generated
// permissions, then `choreo provision` as the operator: a dry run that
// changes nothing, the real run, and a second run that finds everything
// in place.
func TestDevConfigAndProvision(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "permissions.conf")
	code, _, stderr := runCLI("gen", "permissions", "-catalog", signupCatalog, "-out", conf)
	require.Equal(t, exitOK, code, stderr)
	for _, v := range []string{"ACCOUNTS", "EMAIL", "METRICS", "WEB", "CHOREO_OPERATOR"} {
		t.Setenv("CHOREO_PASSWORD_"+v, "secret-"+strings.ToLower(v))
	}
	url, stop := startDev(t, "-port", "0", "-config", conf)
	defer stop()

	// A user the file does not know is turned away; a service's user gets in.
	_, err := nats.Connect(url, nats.UserInfo("stranger", "x"))
	require.Error(t, err)
	nc, err := nats.Connect(url, nats.UserInfo("web", "secret-web"), nats.CustomInboxPrefix("_INBOX_web"))
	require.NoError(t, err)
	nc.Close()

	operator := []string{"-catalog", signupCatalog, "-server", url, "-user", "choreo-operator", "-password", "secret-choreo_operator"}
	code, out, stderr := runCLI(append([]string{"provision", "-dry-run"}, operator...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "would create stream CMD_user\n")
	assert.Contains(t, out, "would create kv bucket email_inbox\n")
	assert.Contains(t, out, "choreo provision: would create 13, would update 0, unchanged 0\n")

	code, out, stderr = runCLI(append([]string{"provision", "-dry-run"}, operator...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "would create 13", "the dry run changed nothing")

	code, out, stderr = runCLI(append([]string{"provision"}, operator...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "create consumer metrics__v1_user_signedup on EVT_user\n")
	assert.Contains(t, out, "choreo provision: created 13, updated 0, unchanged 0\n")

	code, out, stderr = runCLI(append([]string{"provision", "-replicas", "1"}, operator...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "unchanged stream EVT_user\n")
	assert.Contains(t, out, "choreo provision: created 0, updated 0, unchanged 13\n")

	// A service's user may not provision.
	code, _, stderr = runCLI("provision", "-catalog", signupCatalog, "-server", url, "-user", "web", "-password", "secret-web", "-timeout", "2s")
	assert.Equal(t, exitFail, code)
	assert.NotEmpty(t, stderr)
}

func TestDevConfigUsage(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "x.conf")
	require.NoError(t, os.WriteFile(conf, []byte("authorization { users = [] }\n"), 0o600))
	t.Setenv(envDevPassword, "pw")
	code, _, stderr := runCLI("dev", "-config", conf, "-user", "someone")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "-config brings its own authorization")
	code, _, stderr = runCLI("dev", "-port", "0", "-config", filepath.Join(t.TempDir(), "missing.conf"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "missing.conf")
}

func TestLintWarnsOfWidenedPermissions(t *testing.T) {
	base, err := os.ReadFile(signupCatalog)
	require.NoError(t, err)
	cur := filepath.Join(t.TempDir(), "catalog.yaml")
	grown := strings.Replace(string(base), "publishes: [v1.email.welcome.sent]", "publishes: [v1.email.welcome.sent, v1.user.signedup]", 1)
	require.NotEqual(t, string(base), grown)
	require.NoError(t, os.WriteFile(cur, []byte(grown), 0o600))
	code, out, stderr := runCLI("lint", "-catalog", cur, "-against", signupCatalog)
	require.Equal(t, exitOK, code, "a warning: %s", stderr)
	assert.Contains(t, out, "warning: service email now publishes v1.user.signedup, an event of entity user, which accounts publishes: its NATS permissions widen")
}
