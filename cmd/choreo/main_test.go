package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

const signupCatalog = "../../examples/signup/catalog.yaml"

// choreo runs the command line args in-process and returns its exit code
// and output.
func choreo(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"-h"}, {"help"}, {"gen", "-h"},
		{"gen", "go", "-h"}, {"gen", "asyncapi", "-h"}, {"lint", "-h"}, {"graph", "-h"}, {"dev", "-h"},
	}
	for _, args := range tests {
		code, stdout, stderr := choreo(t, args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, stderr, args)
		assert.Contains(t, stdout, "Usage", args)
		if len(args) > 2 || args[0] == "lint" || args[0] == "graph" || args[0] == "dev" {
			assert.Contains(t, stdout, "Example", args)
			assert.Contains(t, stdout, "Flags:", args)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "choreo: missing command"},
		{[]string{"frobnicate"}, `choreo: unknown command "frobnicate"`},
		{[]string{"gen"}, "choreo gen: missing target; use go, asyncapi or permissions"},
		{[]string{"gen", "java"}, `choreo gen: unknown target "java"`},
		{[]string{"gen", "go", "-colour"}, "choreo gen go: flag provided but not defined: -colour"},
		{[]string{"gen", "go", "extra"}, `choreo gen go: unexpected argument "extra"`},
		{[]string{"gen", "asyncapi"}, "choreo gen asyncapi: missing -service NAME"},
		{[]string{"gen", "asyncapi", "-service", "a", "-all", "-out", "x"}, "give -service NAME or -all, not both"},
		{[]string{"gen", "asyncapi", "-all"}, "-all needs -out DIR"},
		{[]string{"gen", "asyncapi", "-service", "a", "-format", "xml"}, `-format "xml": use yaml or json`},
		{[]string{"lint", "-against"}, "choreo lint: flag needs an argument: -against"},
		{[]string{"graph", "-format", "png"}, `choreo graph: -format "png": use mermaid or dot`},
		{[]string{"dev", "-port", "http"}, `choreo dev: invalid value "http" for flag -port`},
		{[]string{"dev", "-port", "70000"}, "choreo dev: -port 70000: use 0 to 65535"},
	}
	for _, tt := range tests {
		code, stdout, stderr := choreo(t, tt.args...)
		assert.Equal(t, exitUsage, code, tt.args)
		assert.Empty(t, stdout, tt.args)
		assert.Contains(t, stderr, tt.want, tt.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		assert.Contains(t, stderr, "-h' for help)", tt.args)
	}
}

func TestMissingCatalog(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, args := range [][]string{
		{"gen", "go"}, {"gen", "asyncapi", "-service", "web"}, {"lint"}, {"graph"},
	} {
		code, _, stderr := choreo(t, append(args, "-catalog", missing)...)
		assert.Equal(t, exitFail, code, args)
		assert.Contains(t, stderr, missing, args)
		assert.Contains(t, stderr, "no such file", args)
	}
	// Without -catalog, choreo looks for catalog.yaml and says so.
	code, _, stderr := choreo(t, "gen", "go")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "catalog.yaml")
	assert.Contains(t, stderr, "-catalog FILE")
}

func TestInvalidCatalogNamesFileLineAndKey(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "bad.yaml", "version: 1\ntopics:\n  v1.user.signup:\n    payload:\n      email: {type: string, desc: x}\n")
	for _, args := range [][]string{{"gen", "go"}, {"graph"}, {"gen", "asyncapi", "-service", "x"}} {
		code, stdout, stderr := choreo(t, append(args, "-catalog", path)...)
		assert.Equal(t, exitFail, code)
		assert.Empty(t, stdout)
		assert.Equal(t, path+`:5: topic v1.user.signup: field email: unknown key "desc"; expected type or description`+"\n", stderr)
	}
	// lint reports the same finding on standard output.
	code, stdout, stderr := choreo(t, "lint", "-catalog", path)
	assert.Equal(t, exitFail, code)
	assert.Equal(t, path+`:5: topic v1.user.signup: field email: unknown key "desc"; expected type or description`+"\n", stdout)
	assert.Equal(t, "choreo lint: 1 error, 0 warnings\n", stderr)
}

func TestGenGo(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../examples/signup/topics/topics.go")
	require.NoError(t, err)

	code, stdout, stderr := choreo(t, "gen", "go", "-catalog", signupCatalog)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, string(want), stdout, "standard output without -out")

	out := filepath.Join(t.TempDir(), "topics.go")
	code, stdout, stderr = choreo(t, "gen", "go", "-catalog", signupCatalog, "-out", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))

	// An unchanged file is not rewritten.
	before, err := os.Stat(out)
	require.NoError(t, err)
	require.NoError(t, os.Chtimes(out, before.ModTime().Add(-3600e9), before.ModTime().Add(-3600e9)))
	code, _, _ = choreo(t, "gen", "go", "-catalog", signupCatalog, "-out", out)
	require.Equal(t, exitOK, code)
	after, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, before.ModTime().Add(-3600e9), after.ModTime())

	code, stdout, _ = choreo(t, "gen", "go", "-catalog", signupCatalog, "-package", "events")
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "\npackage events\n")

	code, _, stderr = choreo(t, "gen", "go", "-catalog", signupCatalog, "-package", "my-events")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, `package name "my-events" is not a Go identifier`)
}

func TestGenGoRefusesLintErrors(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "c.yaml", "version: 1\ntopics:\n  v1.user.signup:\n    payload: {email: strng}\n")
	out := filepath.Join(filepath.Dir(path), "out.go")
	code, _, stderr := choreo(t, "gen", "go", "-catalog", path, "-out", out)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, path+`:4: topic v1.user.signup: field email: unknown field type "strng"`)
	assert.NoFileExists(t, out, "nothing written on failure")
}

func TestGenAsyncAPI(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Load(signupCatalog)
	require.NoError(t, err)
	wantYAML, err := catalog.GenerateAsyncAPI(cat, "accounts")
	require.NoError(t, err)
	wantJSON, err := catalog.GenerateAsyncAPI(cat, "accounts", catalog.WithJSON())
	require.NoError(t, err)

	code, stdout, stderr := choreo(t, "gen", "asyncapi", "-catalog", signupCatalog, "-service", "accounts")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, string(wantYAML), stdout)

	dir := t.TempDir()
	out := filepath.Join(dir, "accounts.json")
	code, _, stderr = choreo(t, "gen", "asyncapi", "-catalog", signupCatalog, "-service", "accounts", "-out", out)
	require.Equal(t, exitOK, code, stderr)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(wantJSON), string(got), "a .json -out gets JSON")

	code, stdout, _ = choreo(t, "gen", "asyncapi", "-catalog", signupCatalog, "-service", "web", "-namespace", "dev", "-server", "localhost:4222", "-version", "0.3.0")
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "address: dev.cmd.v1.user.signup")
	assert.Contains(t, stdout, "host: localhost:4222")
	assert.Contains(t, stdout, "version: 0.3.0")

	all := filepath.Join(dir, "api")
	code, _, stderr = choreo(t, "gen", "asyncapi", "-catalog", signupCatalog, "-all", "-out", all)
	require.Equal(t, exitOK, code, stderr)
	entries, err := os.ReadDir(all)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"accounts.asyncapi.yaml", "email.asyncapi.yaml", "metrics.asyncapi.yaml", "web.asyncapi.yaml"}, names)
	got, err = os.ReadFile(filepath.Join(all, "accounts.asyncapi.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(wantYAML), string(got))

	code, _, stderr = choreo(t, "gen", "asyncapi", "-catalog", signupCatalog, "-service", "billing")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, `declares no service "billing"; services are: accounts, email, metrics, web`)

	noServices := writeFile(t, "c.yaml", "version: 1\ntopics:\n  v1.user.signup: {}\n")
	code, _, stderr = choreo(t, "gen", "asyncapi", "-catalog", noServices, "-all", "-out", filepath.Join(dir, "none"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "declares no services")
}

func TestLint(t *testing.T) {
	t.Parallel()
	// The signup example is free of errors; its one warning still exits 0.
	code, stdout, stderr := choreo(t, "lint", "-catalog", signupCatalog)
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, signupCatalog+":24: warning: event v1.email.welcome.sent has no subscribers; list it under `subscribes:` of a service or remove it\n", stdout)
	assert.Empty(t, stderr)

	bad := writeFile(t, "c.yaml", `version: 1
topics:
  v1.user.signup: {payload: {email: strng}}
  v1.user.signedup: {}
services:
  web: {sends: [v1.user.signup]}
`)
	code, stdout, stderr = choreo(t, "lint", "-catalog", bad)
	assert.Equal(t, exitFail, code)
	assert.Equal(t, []string{
		bad + `:3: command v1.user.signup is handled by no service; list it under ` + "`handles:`" + ` of the one service that carries it out`,
		bad + `:3: topic v1.user.signup: field email: unknown field type "strng" (did you mean "string"?); field types are string int int32 int64 float64 bool time bytes uuid, []T, map[string]T and T? for optional`,
		bad + ":4: warning: event v1.user.signedup has no subscribers; list it under `subscribes:` of a service or remove it",
		bad + ":4: warning: event v1.user.signedup is published by no service; list it under `publishes:` of the service that makes it happen",
	}, strings.Split(strings.TrimSpace(stdout), "\n"))
	assert.Equal(t, "choreo lint: 2 errors, 2 warnings\n", stderr)
}

// TestLintTense: a known verb in the wrong tense is an error; words the
// tense rules do not know are warnings with a suggestion where one makes
// sense, and do not fail the run.
func TestLintTense(t *testing.T) {
	t.Parallel()
	warn := writeFile(t, "c.yaml", `version: 1
topics:
  v1.invoice.overdue: {kind: event}
  v1.stock.low: {kind: event}
  v1.sled.sled: {kind: command}
  v1.build.green: {kind: event, skip_tense_check: true}
`)
	code, stdout, stderr := choreo(t, "lint", "-catalog", warn)
	assert.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	assert.Equal(t, []string{
		warn + `:3: warning: topic v1.invoice.overdue: the tense rules do not know the verb "overdue", so they cannot check it: an event says what happened, so its verb is in the past tense; if "overdue" is a verb, did you mean v1.invoice.overdued? If the name is right as it is, add skip_tense_check: true`,
		warn + `:4: warning: topic v1.stock.low: the tense rules do not know the verb "low", so they cannot check it: an event says what happened, so its verb is in the past tense; if "low" is a verb, did you mean v1.stock.lowed? If the name is right as it is, add skip_tense_check: true`,
		warn + `:5: warning: topic v1.sled.sled: the tense rules do not know the verb "sled", so they cannot check it: a command says what to do, so its verb is in the present tense. If the name is right as it is, add skip_tense_check: true`,
	}, strings.Split(strings.TrimSpace(stdout), "\n"))

	bad := writeFile(t, "c.yaml", "version: 1\ntopics:\n  v1.user.signup: {kind: event}\n")
	code, stdout, stderr = choreo(t, "lint", "-catalog", bad)
	assert.Equal(t, exitFail, code)
	assert.Equal(t, bad+`:3: topic v1.user.signup: declared kind event contradicts the verb's tense: an event says what happened, so its verb is in the past tense, and "signup" is in the present tense; did you mean v1.user.signedup? If the tense rules misread this verb, add skip_tense_check: true`+"\n", stdout)
	assert.Equal(t, "choreo lint: 1 error, 0 warnings\n", stderr)
}

func TestLintAgainst(t *testing.T) {
	t.Parallel()
	old := writeFile(t, "old.yaml", "version: 1\ntopics:\n  v1.user.signedup:\n    payload: {user_id: string, email: string}\n")
	cur := writeFile(t, "new.yaml", "version: 1\ntopics:\n  v1.user.signedup:\n    payload: {user_id: int64, email: string}\n")
	code, stdout, _ := choreo(t, "lint", "-catalog", cur, "-against", old)
	assert.Equal(t, exitFail, code)
	assert.Equal(t, cur+":4: topic v1.user.signedup: field user_id changed type from string to int64, a breaking change to a released version; bump to v2: declare v2.user.signedup with the new payload and keep v1.user.signedup until its consumers have moved\n", stdout)

	code, stdout, _ = choreo(t, "lint", "-catalog", old, "-against", old)
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stdout)

	code, _, stderr := choreo(t, "lint", "-catalog", cur, "-against", filepath.Join(t.TempDir(), "gone.yaml"))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "gone.yaml")

	broken := writeFile(t, "broken.yaml", "version: 1\ntopics: [\n")
	code, stdout, _ = choreo(t, "lint", "-catalog", cur, "-against", broken)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stdout, broken+":2: not valid YAML")
}

func TestGraph(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Load(signupCatalog)
	require.NoError(t, err)
	for _, f := range []catalog.GraphFormat{catalog.GraphMermaid, catalog.GraphDot} {
		want, err := catalog.GenerateGraph(cat, f)
		require.NoError(t, err)
		code, stdout, stderr := choreo(t, "graph", "-catalog", signupCatalog, "-format", string(f))
		require.Equal(t, exitOK, code, stderr)
		assert.Equal(t, string(want), stdout)
	}
	code, stdout, _ := choreo(t, "graph", "-catalog", signupCatalog)
	require.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(stdout, "flowchart LR\n"), "mermaid by default")

	out := filepath.Join(t.TempDir(), "g.dot")
	code, _, _ = choreo(t, "graph", "-catalog", signupCatalog, "-format", "dot", "-out", out)
	require.Equal(t, exitOK, code)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(got), "digraph choreo {"))
}
