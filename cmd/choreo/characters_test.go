package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLintReportsHostileCharactersWithPosition(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "c.yaml", "version: 1\ntopics:\n  v1.user.signup:\n    description: \"Create \\u202eresu\"\n    payload: {email: {type: string, description: ok\u2028fake}}\n")
	code, stdout, _ := choreo(t, "lint", "-catalog", path)
	assert.Equal(t, exitFail, code)
	assert.Equal(t, []string{
		path + ":5:52: character U+2028 (LINE SEPARATOR), a line break that YAML honours and Go and most editors do not; delete it",
	}, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"), "a raw character is found first, at its exact place")

	path = writeFile(t, "c.yaml", "version: 1\ntopics:\n  v1.user.signup:\n    description: \"Create \\u202eresu\"\n")
	code, stdout, _ = choreo(t, "lint", "-catalog", path)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stdout, path+":4:18: topic v1.user.signup: description: character 8 of the value is U+202E (RIGHT-TO-LEFT OVERRIDE)")
}

func TestGenGoWithHostileFileName(t *testing.T) {
	t.Parallel()
	name := "cat\npackage evil\nfunc init() { panic(0) }\n\u202e.yaml"
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte("version: 1\ntopics:\n  v1.user.signup: {payload: {email: string}}\n"), 0o644))
	code, stdout, stderr := choreo(t, "gen", "go", "-catalog", path)
	require.Equal(t, exitOK, code, stderr)
	lines := strings.SplitN(stdout, "\n", 4)
	assert.Equal(t, `// Source: "cat\npackage evil\nfunc init() { panic(0) }\n\u202e.yaml"`, lines[1])
	assert.Equal(t, "", lines[2])
	f, err := parser.ParseFile(token.NewFileSet(), "gen.go", stdout, 0)
	require.NoError(t, err)
	assert.Equal(t, "topics", f.Name.Name)
	assert.NotContains(t, stdout, "\u202e")
	assert.NotContains(t, stdout, "\nfunc init")
}
