package topic

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNameStringBuiltByHand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name Name
		want string
	}{
		{Name{}, ""},
		{Name{Version: 1, Entity: "user", Verb: "signup"}, "v1.user.signup"},
		{Name{Version: 12, Entity: "user", Qualifiers: []string{"email"}, Verb: "changed"}, "v12.user.email.changed"},
		{Name{Version: 1, Entity: "a", Qualifiers: []string{"b", "c"}, Verb: "d"}, "v1.a.b.c.d"},
		{Name{Version: 1, Entity: "a", Qualifiers: []string{}, Verb: "d"}, "v1.a.d"},
		// Not validated: bad fields print as they are.
		{Name{Version: 0, Entity: "User", Verb: "x"}, "v0.User.x"},
		{Name{Version: -3, Verb: "x"}, "v-3..x"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.name.String())
	}
}

// TestNameStringFollowsFieldChanges checks that the cached canonical text
// is never returned once the fields no longer spell it.
func TestNameStringFollowsFieldChanges(t *testing.T) {
	t.Parallel()
	base, err := Parse("v1.user.email.changed")
	require.NoError(t, err)
	tests := []struct {
		change func(*Name)
		want   string
	}{
		{func(*Name) {}, "v1.user.email.changed"},
		{func(n *Name) { n.Version = 2 }, "v2.user.email.changed"},
		{func(n *Name) { n.Version = 10 }, "v10.user.email.changed"},
		{func(n *Name) { n.Entity = "account" }, "v1.account.email.changed"},
		{func(n *Name) { n.Entity = "use" }, "v1.use.email.changed"},
		{func(n *Name) { n.Entity = "" }, "v1..email.changed"},
		{func(n *Name) { n.Qualifiers = nil }, "v1.user.changed"},
		{func(n *Name) { n.Qualifiers = []string{"phone"} }, "v1.user.phone.changed"},
		{func(n *Name) { n.Qualifiers = []string{"email", "primary"} }, "v1.user.email.primary.changed"},
		{func(n *Name) { n.Verb = "change" }, "v1.user.email.change"},
		{func(n *Name) { n.Verb = "" }, "v1.user.email."},
		{func(n *Name) { n.Entity, n.Qualifiers = "user.email", nil }, "v1.user.email.changed"},
	}
	for _, tt := range tests {
		n := base.clone()
		tt.change(&n)
		assert.Equal(t, tt.want, n.String())
	}
}

func TestNameIsZero(t *testing.T) {
	t.Parallel()
	assert.True(t, Name{}.IsZero())
	assert.True(t, Name{Qualifiers: []string{}}.IsZero())
	assert.False(t, Name{Version: 1}.IsZero())
	assert.False(t, Name{Entity: "user"}.IsZero())
	assert.False(t, Name{Qualifiers: []string{"x"}}.IsZero())
	assert.False(t, Name{Verb: "x"}.IsZero())
	n, err := Parse("v1.user.signup")
	require.NoError(t, err)
	assert.False(t, n.IsZero())
}

func TestNameCloneDoesNotShareQualifiers(t *testing.T) {
	t.Parallel()
	n, err := Parse("v1.user.email.changed")
	require.NoError(t, err)
	c := n.clone()
	c.Qualifiers[0] = "phone"
	assert.Equal(t, "email", n.Qualifiers[0])
	assert.Equal(t, "v1.user.email.changed", n.String())
	assert.Equal(t, "v1.user.phone.changed", c.String())
}

func TestStringOfParsedNameDoesNotAllocate(t *testing.T) {
	n, err := Parse("v1.account.billing.card.expired")
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = n.String() }))
	built := Name{Version: 1, Entity: "user", Verb: "signup"}
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = built.String() }),
		"a name built by hand is formatted in exactly one allocation")
}

func TestLimits(t *testing.T) {
	t.Parallel()
	assert.Len(t, strconv.Itoa(MaxVersion), maxVersionDigits)
	// The longest wire subject stays well inside NATS limits.
	assert.LessOrEqual(t, MaxNamespaceLen+len(".cmd.")+MaxNameLen, 255)
}

// TestSpellsRejectsNearMisses drives the cache check directly with strings
// that differ from the fields in one small way.
func TestSpellsRejectsNearMisses(t *testing.T) {
	t.Parallel()
	n := Name{Version: 12, Entity: "user", Qualifiers: []string{"email"}, Verb: "changed"}
	assert.True(t, n.spells("v12.user.email.changed"))
	for _, s := range []string{
		"", "v", "v12", "12.user.email.changed", "v012.user.email.changed", "v1.user.email.changed",
		"v123.user.email.changed", "v12.users.email.changed", "v12.user.emails.changed",
		"v12.user.email.change", "v12.user.email.changedd", "v12.user.changed", "v12.user.email.x.changed",
		"v12.user.email.", "v12.user.email", "v12..email.changed", "v12.user.email.changed.",
		"v99999999999999999999999.user.email.changed",
	} {
		assert.Falsef(t, n.spells(s), "spells(%q)", s)
	}
}
