package permissions_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/catalog/permissions"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./catalog/permissions -update` to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, run `go test ./catalog/permissions -update`", path)
}

// load reads a catalog of ../testdata or testdata under a name that does
// not depend on where the test runs.
func load(t *testing.T, path string) *catalog.Catalog {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	c, err := catalog.Parse(filepath.Base(path), data)
	require.NoError(t, err)
	return c
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct{ file, golden, ns string }{
		{"testdata/signup.yaml", "signup", ""},
		{"../testdata/kitchen.yaml", "kitchen", ""},
		{"../testdata/kitchen.yaml", "kitchen.prod.eu", "prod.eu"},
		{"../testdata/minimal.yaml", "minimal", ""},
	} {
		set, err := permissions.Derive(load(t, tc.file), tc.ns, "")
		require.NoError(t, err)
		again, err := permissions.Derive(load(t, tc.file), tc.ns, "")
		require.NoError(t, err)
		conf := permissions.NATSConf(set, true)
		require.Equal(t, conf, permissions.NATSConf(again, true), "output must be stable from run to run")
		checkGolden(t, tc.golden+".conf", conf)
		checkGolden(t, tc.golden+".json", permissions.JSON(set))
	}
}

// TestNewServiceOnlyAddsLines: a catalog with one more service gives the
// old output with that service's block inserted, nothing else changed.
func TestNewServiceOnlyAddsLines(t *testing.T) {
	data, err := os.ReadFile("testdata/signup.yaml")
	require.NoError(t, err)
	old, err := catalog.Parse("signup.yaml", data)
	require.NoError(t, err)
	grown, err := catalog.Parse("signup.yaml", append(data, []byte(`  audit:
    description: Keeps an audit trail of every account.
    subscribes: [v1.user.signedup, v1.email.welcome.sent]
    inbox: true
`)...))
	require.NoError(t, err)
	for _, format := range []string{"nats-conf", "json"} {
		render := func(c *catalog.Catalog, service string) []string {
			set, err := permissions.Derive(c, "", service)
			require.NoError(t, err)
			if format == "json" {
				return strings.Split(string(permissions.JSON(set)), "\n")
			}
			return strings.Split(string(permissions.NATSConf(set, service == "")), "\n")
		}
		added := subsequenceGaps(t, render(old, ""), render(grown, ""))
		require.NotEmpty(t, added, format)
		own := map[string]bool{}
		for _, line := range render(grown, "audit") {
			own[strings.TrimSuffix(strings.TrimSpace(line), ",")] = true
		}
		for _, line := range added {
			assert.True(t, own[strings.TrimSuffix(strings.TrimSpace(line), ",")], "%s: only audit's lines are new, but %q is", format, line)
		}
		assert.Contains(t, strings.Join(added, "\n"), `"audit"`, format)
	}
}

// subsequenceGaps checks that old is after with lines inserted (none
// removed or changed) and returns the inserted lines.
func subsequenceGaps(t *testing.T, old, after []string) []string {
	t.Helper()
	var added []string
	i := 0
	for _, line := range after {
		if i < len(old) && old[i] == line {
			i++
			continue
		}
		added = append(added, line)
	}
	require.Equal(t, len(old), i, "every old line is kept, in order")
	return added
}

func TestDeriveOneService(t *testing.T) {
	set, err := permissions.Derive(load(t, "testdata/signup.yaml"), "", "web")
	require.NoError(t, err)
	require.Len(t, set.Users, 1)
	u := set.Users[0]
	assert.Equal(t, []string{"$JS.API.INFO", "$JS.API.STREAM.INFO.CMD_user", "cmd.v1.user.signup"}, u.Publish,
		"a sender publishes its command and looks its stream up, nothing else")
	assert.Equal(t, []string{"_INBOX_web.>"}, u.Subscribe)
	assert.NotContains(t, string(permissions.NATSConf(set, false)), permissions.OperatorUser)

	_, err = permissions.Derive(load(t, "testdata/signup.yaml"), "", "nobody")
	require.ErrorIs(t, err, catalog.ErrUnknownService)
	_, err = permissions.Derive(load(t, "testdata/signup.yaml"), "Prod", "")
	require.Error(t, err, "an invalid namespace")
}

func TestDeriveRefusesLintErrors(t *testing.T) {
	c, err := catalog.Parse("bad.yaml", []byte(`version: 1
topics:
  v1.user.signup: {kind: command}
services:
  a: {handles: [v1.user.signup]}
  b: {handles: [v1.user.signup]}
`))
	require.NoError(t, err)
	_, err = permissions.Derive(c, "", "")
	var invalid *catalog.Error
	require.ErrorAs(t, err, &invalid, "a command with two handlers must not grant both")
}

func TestNamespacedNames(t *testing.T) {
	set, err := permissions.Derive(load(t, "testdata/signup.yaml"), "prod.eu", "email")
	require.NoError(t, err)
	u := set.Users[0]
	assert.Equal(t, "prod_eu__email", u.Name)
	assert.Equal(t, "CHOREO_PASSWORD_PROD_EU__EMAIL", u.PasswordVar)
	assert.Equal(t, []string{"_INBOX_prod_eu__email.>"}, u.Subscribe)
	assert.Contains(t, u.Publish, "prod.eu.dlq.prod_eu_EVT_user.email__v1_user_signedup")
	assert.Contains(t, u.Publish, "$KV.prod_eu__email_inbox.>")
}
