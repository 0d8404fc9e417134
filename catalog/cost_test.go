package catalog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests here keep the work of Lint and the generators in proportion to
// the catalog: no step may grow with the square of its size, or with a
// number the catalog merely names.

func TestHugeVersionGapIsSummarised(t *testing.T) {
	t.Parallel()
	c, err := Parse("cat.yaml", []byte("version: 1\ntopics:\n  v1.user.deleted: {}\n  v999999999.user.deleted: {}\n  v1.user.signedup: {}\n  v4.user.signedup: {}\n"))
	require.NoError(t, err)
	var gaps []string
	for _, d := range Lint(c) {
		if d.Rule == RuleVersionGap {
			gaps = append(gaps, d.Message)
		}
	}
	assert.Equal(t, []string{
		"topic v999999999.user.deleted: version gap: v2.user.deleted to v999999998.user.deleted (999999997 versions) missing between v1 and v999999999",
		"topic v4.user.signedup: version gap: v2.user.signedup, v3.user.signedup missing between v1 and v4",
	}, gaps)
}

func TestGraphIDsOfManyLookalikeNames(t *testing.T) {
	t.Parallel()
	// 4,096 service names that all sanitize to the same node ID (a_b_..._m):
	// each gets its own ID in one step, not a walk past all those taken.
	c := &Catalog{HasServices: true}
	for i := range 1 << 12 {
		var name strings.Builder
		for bit := range 12 {
			name.WriteByte(byte('a' + bit))
			if i&(1<<bit) != 0 {
				name.WriteByte('-')
			} else {
				name.WriteByte('_')
			}
		}
		c.Services = append(c.Services, &Service{Name: name.String() + "z"})
	}
	g := newGraph(c)
	seen := map[string]bool{}
	for _, n := range g.services {
		assert.False(t, seen[n.id], n.id)
		seen[n.id] = true
	}
	assert.Len(t, seen, 1<<12)
}
