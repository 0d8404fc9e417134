package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// aliasBomb is the 64 KB probe that made `choreo lint` print 156 MB: one
// long description named by an alias 13,000 times.
func aliasBomb() string {
	return "version: 1\ntopics:\n  v1.user.signup:\n    description: &a " + strings.Repeat("x", 12000) +
		"\nservices:\n  web:\n    sends: [" + strings.Repeat("*a, ", 12999) + "*a]\n"
}

func TestAliasBombFailsFast(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "bomb.yaml", aliasBomb())
	code, stdout, stderr := choreo(t, "lint", "-catalog", path)
	assert.Equal(t, exitFail, code)
	assert.Equal(t, 1, strings.Count(stdout, "\n"), "one finding, not one per repetition: %.500s", stdout)
	assert.Contains(t, stdout, path+":7:357: with its aliases expanded up to this one (*a)")
	assert.Contains(t, stdout, "MaxTextSize")
	assert.Equal(t, "choreo lint: 1 error, 0 warnings\n", stderr)

	for _, args := range [][]string{{"gen", "go"}, {"gen", "asyncapi", "-service", "web"}, {"graph"}} {
		code, stdout, stderr := choreo(t, append(args, "-catalog", path)...)
		assert.Equal(t, exitFail, code, args)
		assert.Empty(t, stdout, args)
		assert.Contains(t, stderr, "MaxTextSize", args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), args)
	}
}

func TestLintPrintsTheFirstFindings(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web:\n    sends: [")
	for i := range 250 {
		fmt.Fprintf(&b, "v1.nothing%d.create, ", i)
	}
	b.WriteString("]\n")
	path := writeFile(t, "c.yaml", b.String())
	code, stdout, stderr := choreo(t, "lint", "-catalog", path)
	assert.Equal(t, exitFail, code)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, catalog.MaxListed+1)
	assert.Equal(t, "... and 151 more (fix the ones above and run again to see them)", lines[catalog.MaxListed])
	assert.Equal(t, "choreo lint: 251 errors, 0 warnings\n", stderr, "the summary counts them all")
}
