package topic

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		version    int
		entity     string
		qualifiers []string
		verb       string
	}{
		{"v1.user.signup", 1, "user", nil, "signup"},
		{"v1.user.signedup", 1, "user", nil, "signedup"},
		{"v2.order.ship", 2, "order", nil, "ship"},
		{"v10.order.shipped", 10, "order", nil, "shipped"},
		{"v999999999.a.b", MaxVersion, "a", nil, "b"},
		{"v1.user.email.changed", 1, "user", []string{"email"}, "changed"},
		{"v3.account.billing.card.expired", 3, "account", []string{"billing", "card"}, "expired"},
		{"v1.user2.oauth2.linked", 1, "user2", []string{"oauth2"}, "linked"},
		{"v1.a.b", 1, "a", nil, "b"},
		{"v1.v2.v3", 1, "v2", nil, "v3"}, // later segments may look like versions
		{"v7.x1y2.z3", 7, "x1y2", nil, "z3"},
		{"v1." + strings.Repeat("e", MaxNameLen-7) + ".do", 1, strings.Repeat("e", MaxNameLen-7), nil, "do"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.version, n.Version)
			assert.Equal(t, tt.entity, n.Entity)
			assert.Equal(t, tt.qualifiers, n.Qualifiers)
			assert.Equal(t, tt.verb, n.Verb)
			assert.Equal(t, tt.in, n.String())
			assert.False(t, n.IsZero())
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	long := "v1.user." + strings.Repeat("x", MaxNameLen)
	tests := []struct {
		in   string
		want []string // substrings the message must contain
	}{
		// Shape.
		{"", []string{`"": it is empty`, "v<N>.<entity>", "e.g. v1.user.signup"}},
		{"v1.user", []string{"it has 2 segments", "at least 3", "version, entity and verb"}},
		{"v1", []string{"it has 1 segments"}},
		{long, []string{"bytes long, the limit is 128"}},
		// Empty segments.
		{"v1..signup", []string{`segment 2 (entity) "" is empty (two dots in a row, or a dot at an end)`}},
		{"v1.user..signup", []string{`segment 3 (qualifier) "" is empty`, "did you mean v1.user.signup?"}},
		{".v1.user.signup", []string{`segment 1 (version) "" is empty`, "did you mean v1.user.signup?"}},
		{"v1.user.signup.", []string{`segment 4 (verb) "" is empty`, "did you mean v1.user.signup?"}},
		// Version.
		{"user.signup.now", []string{`segment 1 (version) "user" is not a version`, "e.g. v1.user.signup"}},
		{"1.user.signup", []string{`segment 1 (version) "1" is not a version`, "did you mean v1.user.signup?"}},
		{"V1.user.signup", []string{`segment 1 (version) "V1" has upper case`, "did you mean v1.user.signup?"}},
		{"v.user.signup", []string{`"v" has no number after the v`}},
		{"v0.user.signup", []string{`"v0" is not a version: versions start at v1`}},
		{"v01.user.signup", []string{`"v01" has a leading zero`, "did you mean v1.user.signup?"}},
		{"v1a.user.signup", []string{`"v1a" is not a version: only digits may follow the v`}},
		{"v-1.user.signup", []string{`"v-1" is not a version`}},
		{"v+1.user.signup", []string{`"v+1" is not a version`}},
		{"v1000000000.user.signup", []string{`"v1000000000" is too large`, "999999999"}},
		{"v99999999999999999999999.user.signup", []string{"is too large"}},
		{"v1.5.user.signup", []string{`segment 2 (entity) "5" starts with a digit`}},
		// Characters.
		{"v1.User.signup", []string{`segment 2 (entity) "User" has upper case`, "lowercase ASCII letters and digits", "did you mean v1.user.signup?"}},
		{"v1.user.signUp", []string{`segment 3 (verb) "signUp" has upper case`, "did you mean v1.user.signup?"}},
		{"v1.user.sign-up", []string{`segment 3 (verb) "sign-up" has '-'`, "join words", "did you mean v1.user.signup?"}},
		{"v1.user.sign_up", []string{`segment 3 (verb) "sign_up" has '_'`, "did you mean v1.user.signup?"}},
		{"v1.user-account.signup", []string{`segment 2 (entity) "user-account" has '-'`}},
		{"v1.user.*", []string{`segment 3 (verb) "*" has the wildcard '*'`, "wildcards"}},
		{"v1.user.>", []string{`has the wildcard '>'`}},
		{"v1.*.signup", []string{`segment 2 (entity) "*" has the wildcard`}},
		{"v1.user.sign up", []string{`segment 3 (verb) "sign up" has white space`}},
		{" v1.user.signup", []string{`segment 1 (version) " v1" is not a version`, "did you mean v1.user.signup?"}},
		{"v1.user.signup\n", []string{`has white space`, "did you mean v1.user.signup?"}},
		{"v1.user.sign\tup", []string{`has white space`}},
		{"v1.usér.signup", []string{`segment 2 (entity) "usér" has non-ASCII characters`}},
		{"v1.user.\xff", []string{`segment 3 (verb) "\xff" has non-ASCII characters`}},
		{"v1.user.sign$up", []string{`has '$'`}},
		{"v1.user.sign\x00up", []string{`has '\x00'`}},
		{"v1.user/x.signup", []string{`has '/'`}},
		{"v1.2fa.enabled", []string{`segment 2 (entity) "2fa" starts with a digit`}},
		{"v1.user.2fa", []string{`segment 3 (verb) "2fa" starts with a digit`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tt.in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidName), "errors.Is(err, ErrInvalidName)")
			assert.False(t, errors.Is(err, ErrTense))
			assert.True(t, n.IsZero(), "a failed Parse returns the zero Name")
			assert.True(t, strings.HasPrefix(err.Error(), "choreo/topic: invalid name "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseErrorMessageFormat(t *testing.T) {
	t.Parallel()
	_, err := Parse("v1.User.signup")
	assert.EqualError(t, err, `choreo/topic: invalid name "v1.User.signup": segment 2 (entity) "User" has upper case; `+
		`segments are lowercase ASCII letters and digits, starting with a letter, did you mean v1.user.signup?`)
	_, err = Parse("v1.user.$")
	assert.EqualError(t, err, `choreo/topic: invalid name "v1.user.$": segment 3 (verb) "$" has '$'; `+
		`segments are lowercase ASCII letters and digits, starting with a letter, e.g. v1.user.signup`)
}

func TestParseReportsFirstBadSegment(t *testing.T) {
	t.Parallel()
	_, err := Parse("v1.Bad.worse-still.*")
	require.ErrorIs(t, err, ErrInvalidName)
	assert.Contains(t, err.Error(), `segment 2 (entity) "Bad"`)
	assert.NotContains(t, err.Error(), "segment 3")
}

func TestParseLongInputIsCutInMessage(t *testing.T) {
	t.Parallel()
	_, err := Parse(strings.Repeat("x", 10*MaxNameLen))
	require.ErrorIs(t, err, ErrInvalidName)
	assert.Less(t, len(err.Error()), 4*MaxNameLen, "the message quotes a bounded prefix of the input")
	assert.Contains(t, err.Error(), `"...`)
}

func TestParseDoesNotAllocateWithoutQualifiers(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		n, err := Parse("v1.user.signedup")
		if err != nil || n.String() != "v1.user.signedup" {
			panic("parse failed")
		}
	})
	assert.Zero(t, allocs)
}
