package catalog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// textBomb is the lint probe: one long anchored description, named by an
// alias 13,000 times as a topic some service sends. It is 64 KiB, and
// stood for 156 MB of text, which lint printed back finding by finding.
func textBomb() string {
	return "version: 1\ntopics:\n  v1.user.signup:\n    description: &a " + strings.Repeat("x", 12000) +
		"\nservices:\n  web:\n    sends: [" + strings.Repeat("*a, ", 12999) + "*a]\n"
}

// nodeBomb is the gen go probe: a payload of 900 fields shared by 1,300
// topics through an alias, 60 KiB standing for 1.2 million fields, which
// gen go turned into a Go file of tens of megabytes.
func nodeBomb() string {
	var b strings.Builder
	b.WriteString("version: 1\ntopics:\n  v1.user.signup:\n    payload: &p\n")
	for i := range 900 {
		fmt.Fprintf(&b, "      f%d: string\n", i)
	}
	for i := range 1300 {
		fmt.Fprintf(&b, "  v1.e%d.created: {payload: *p}\n", i)
	}
	return b.String()
}

// laughs nests aliases ten deep, ten wide: 400 bytes standing for ten
// billion nodes (the "billion laughs").
func laughs() string {
	var b strings.Builder
	b.WriteString("version: 1\nx0: &a0 [l, l, l, l, l, l, l, l, l, l]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	b.WriteString("topics:\n  v1.user.signup:\n    description: *a10\n")
	return b.String()
}

// TestAliasBombsFailWithTheLimit keeps the alias probes as regression
// tests. The walk that counts an expansion stops at the first limit it
// passes, so none of them is expanded further than MaxNodes nodes or
// MaxTextSize bytes: that bounds the time and memory of the refusal,
// whatever the file would expand to.
func TestAliasBombsFailWithTheLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		line, col int
		limit     string
	}{
		// The 87th alias of the list: 12 KB of text each.
		{"text bomb", textBomb(), 7, 357, "MaxTextSize"},
		// The payload alias of the 55th topic: 1,801 nodes each.
		{"node bomb", nodeBomb(), 959, 29, "MaxNodes"},
		// The 8th alias in the list of x4: 11,111 nodes each.
		{"billion laughs", laughs(), 6, 45, "MaxNodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name != "billion laughs" {
				assert.InDelta(t, 62<<10, len(tt.src), 4<<10, "the probe is about 64 KiB")
			}
			_, err := catalog.Parse("bomb.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.ErrorIs(t, err, catalog.ErrTooLarge)
			assert.ErrorIs(t, err, catalog.ErrInvalid)
			var invalid *catalog.Error
			require.ErrorAs(t, err, &invalid)
			require.Len(t, invalid.Diagnostics, 1, "one finding, not one per repetition")
			d := invalid.Diagnostics[0]
			assert.Equal(t, catalog.RuleLimit, d.Rule)
			assert.Equal(t, [2]int{tt.line, tt.col}, [2]int{d.Line, d.Column}, "at the alias where the limit is passed: %s", d)
			assert.Contains(t, d.Message, tt.limit, "names the limit")
			assert.Contains(t, d.Message, "with its aliases expanded")
			assert.Contains(t, d.Message, "write the repeated parts out, or repeat them fewer times", "says what to do")
		})
	}
}

func TestAliasInsideItselfFails(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"version: 1\ntopics:\n  v1.user.signup:\n    payload: &p {email: *p}\n",
		"version: 1\ntopics: {}\nservices:\n  web: {sends: &l [v1.user.signup, *l]}\n",
	} {
		_, err := catalog.Parse("cat.yaml", []byte(src))
		var invalid *catalog.Error
		require.ErrorAs(t, err, &invalid, src)
		assert.Equal(t, catalog.RuleLimit, invalid.Diagnostics[0].Rule)
		assert.Equal(t, 4, invalid.Diagnostics[0].Line)
		assert.Contains(t, err.Error(), "is inside the node it names, so it would repeat forever")
	}
}

func TestFileSizeLimit(t *testing.T) {
	t.Parallel()
	big := "version: 1\ntopics: {}\n#" + strings.Repeat("x", catalog.MaxFileSize)
	_, err := catalog.Parse("big.yaml", []byte(big))
	assert.ErrorIs(t, err, catalog.ErrTooLarge)
	assert.EqualError(t, err, "big.yaml: the file is larger than 1 MiB, the limit for a catalog (MaxFileSize), which keeps reading it fast and small; split the system into several catalogs")

	path := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(path, []byte(big+strings.Repeat("y", 4<<20)), 0o644))
	_, err = catalog.Load(path)
	assert.ErrorIs(t, err, catalog.ErrTooLarge)

	// Exactly at the limit is fine.
	_, err = catalog.Parse("edge.yaml", []byte(big[:catalog.MaxFileSize]))
	assert.NoError(t, err)
}

// largeCatalog is a real-looking catalog of n topics with ten described
// fields each, and a service per ten topics.
func largeCatalog(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\ntopics:\n")
	for i := range n {
		fmt.Fprintf(&b, "  v1.entity%d.created:\n    description: Entity %d was created by its owner.\n    payload:\n", i, i)
		for f := range 10 {
			fmt.Fprintf(&b, "      field_%d: {type: string, description: Field %d of the entity.}\n", f, f)
		}
	}
	b.WriteString("services:\n")
	for i := 0; i < n; i += 10 {
		fmt.Fprintf(&b, "  svc%d:\n    publishes: [", i)
		for j := i; j < min(i+10, n); j++ {
			fmt.Fprintf(&b, "v1.entity%d.created, ", j)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestLargeRealCatalogIsWithinTheLimits(t *testing.T) {
	t.Parallel()
	src := largeCatalog(1000)
	assert.Less(t, len(src), catalog.MaxFileSize)
	c, err := catalog.Parse("large.yaml", []byte(src))
	require.NoError(t, err)
	assert.Len(t, c.Topics, 1000)
	assert.False(t, catalog.HasErrors(catalog.Lint(c)))
}

func TestErrorListsTheFirstDiagnostics(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("version: 1\ntopics:\n")
	for i := range 250 {
		fmt.Fprintf(&b, "  v1.user.signup%d: {colour: red}\n", i)
	}
	_, err := catalog.Parse("cat.yaml", []byte(b.String()))
	var invalid *catalog.Error
	require.ErrorAs(t, err, &invalid)
	assert.Len(t, invalid.Diagnostics, 250, "every finding stays available")
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, catalog.MaxListed+1)
	assert.Equal(t, "... and 150 more (fix the ones above and run again to see them)", lines[catalog.MaxListed])
}
