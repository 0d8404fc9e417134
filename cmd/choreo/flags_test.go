package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// TestHostileFlagValues sends flag values that name odd files or carry text
// for the generated documents: each gets a one-line error that shows the
// value escaped, or is handled safely, and nothing panics.
func TestHostileFlagValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.yaml")
	src, err := os.ReadFile(signupCatalog)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cat, src, 0o644))
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gen", "go", "-catalog", cat, "-out", cat}, exitUsage, "is the catalog itself, which would be overwritten"},
		{[]string{"graph", "-catalog", cat, "-out", filepath.Join(dir, ".", "catalog.yaml")}, exitUsage, "is the catalog itself"},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-out", cat}, exitUsage, "is the catalog itself"},
		{[]string{"gen", "go", "-catalog", cat, "-out", dir}, exitFail, "it is a directory; -out names the file to write"},
		{[]string{"gen", "go", "-catalog", cat, "-out", filepath.Join(dir, "no", "such", "dir.go")}, exitFail, "no such file or directory"},
		{[]string{"gen", "go", "-catalog", cat, "-out", "a\x00b.go"}, exitFail, `a\x00b.go`},
		{[]string{"gen", "go", "-catalog", dir}, exitFail, "is a directory"},
		{[]string{"gen", "go", "-catalog", "/dev/zero"}, exitFail, "the file is larger than 1 MiB"},
		{[]string{"gen", "go", "-catalog", "a\nb\u202e\x1b[2J.yaml"}, exitFail, `open a\x0ab\u202e\x1b[2J.yaml: no such file`},
		{[]string{"gen", "go", "-catalog", ""}, exitFail, "name the catalog with -catalog FILE"},
		{[]string{"gen", "go", "-catalog", cat, "-package", "a\nb"}, exitFail, `package name "a\nb" is not a Go identifier`},
		{[]string{"gen", "go", "-catalog", cat, "-package", "a\u202eb"}, exitFail, `package name "a\u202eb" is not a Go identifier`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-server", "a\nb"}, exitUsage, `-server "a\nb": use host or host:port`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-server", "nats:99999"}, exitUsage, `-server "nats:99999"`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-server", "evil.com/path?x"}, exitUsage, `-server "evil.com/path?x"`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-version", "1\u202e0"}, exitUsage, `-version "1\u202e0": use a version such as 1.0.0`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-version", ""}, exitUsage, `-version "": use a version`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-version", strings.Repeat("9", 65)}, exitUsage, "at most 64 bytes"},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web\n"}, exitFail, `declares no service "web\n"`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-namespace", "../x"}, exitFail, `invalid namespace "../x"`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-service", "web", "-format", "json\u202e"}, exitUsage, `-format "json\u202e"`},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-all", "-out", cat}, exitUsage, "is the catalog itself"},
		{[]string{"gen", "asyncapi", "-catalog", cat, "-all", "-out", signupCatalog}, exitFail, "not a directory"},
		{[]string{"graph", "-catalog", cat, "-format", "dot\n"}, exitUsage, `-format "dot\n"`},
		{[]string{"lint", "-catalog", cat, "-against", "/dev/zero"}, exitFail, "the file is larger than 1 MiB"},
		{[]string{"dev", "-port", "-1"}, exitUsage, "-port -1: use 0 to 65535"},
		{[]string{"dev", "-port", "0", "-dir", cat}, exitFail, "not a directory"},
	}
	for _, tt := range tests {
		code, stdout, stderr := choreo(t, tt.args...)
		assert.Equal(t, tt.code, code, "%q: %s", tt.args, stderr)
		out := stderr
		if tt.args[0] == "lint" {
			out = stdout
		}
		assert.Contains(t, out, tt.want, "%q", tt.args)
		for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
			assert.Equal(t, catalog.EscapeText(line), line, "%q: stderr shows odd characters as escapes", tt.args)
		}
	}
	got, err := os.ReadFile(cat)
	require.NoError(t, err)
	assert.Equal(t, string(src), string(got), "the catalog was never overwritten")
}

func TestServerFlagAcceptsHosts(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "localhost", "localhost:4222", "nats.example.com:4222", "nats_1:4222", "10.0.0.1", "[::1]:4222", "::1"} {
		assert.Empty(t, checkServer(s), s)
	}
	for _, v := range []string{"1.0.0", "2024-01-01", "v3.1.4-rc.1+build.5"} {
		assert.Empty(t, checkVersion(v), v)
	}
}
