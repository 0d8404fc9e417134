package topic

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKindString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "command", KindCommand.String())
	assert.Equal(t, "event", KindEvent.String())
	assert.Equal(t, "Kind(0)", Kind(0).String())
	assert.Equal(t, "Kind(9)", Kind(9).String())
}

func mustParse(t testing.TB, s string) Name {
	t.Helper()
	n, err := Parse(s)
	require.NoError(t, err)
	return n
}

func TestCheckTense(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    Kind
		suggest string // "" when the name is fine; "-" for an error without suggestion
	}{
		// Events need a past verb.
		{"v1.user.signedup", KindEvent, ""},
		{"v1.order.shipped", KindEvent, ""},
		{"v1.email.sent", KindEvent, ""},
		{"v1.user.email.changed", KindEvent, ""},
		{"v1.invoice.writtenoff", KindEvent, ""},
		{"v1.invoice.wroteoff", KindEvent, ""},
		{"v1.order.cancelled", KindEvent, ""},
		{"v1.order.canceled", KindEvent, ""},
		{"v1.counter.reset", KindEvent, ""},
		{"v1.user.signup", KindEvent, "v1.user.signedup"},
		{"v1.user.email.change", KindEvent, "v1.user.email.changed"},
		{"v1.email.send", KindEvent, "v1.email.sent"},
		{"v1.invoice.pay", KindEvent, "v1.invoice.paid"},
		{"v1.order.stop", KindEvent, "v1.order.stopped"},
		{"v1.user.create", KindEvent, "v1.user.created"},
		{"v1.user.apply", KindEvent, "v1.user.applied"},
		{"v1.order.cancel", KindEvent, "v1.order.canceled"},
		{"v1.user.login", KindEvent, "v1.user.loggedin"},
		{"v1.cart.checkout", KindEvent, "v1.cart.checkedout"},
		{"v1.order.shipping", KindEvent, "v1.order.shipped"},
		{"v1.user.email.verifying", KindEvent, "v1.user.email.verified"},
		{"v1.app.startup", KindEvent, "v1.app.startedup"}, // a noun too, but start + up is a known verb
		// Words the rules do not know pass at run time (choreo lint warns).
		{"v1.build.step2", KindEvent, ""},
		{"v1.stock.low", KindEvent, ""},
		{"v1.invoice.overdue", KindEvent, ""},
		{"v1.order.ready", KindEvent, ""},
		{"v1.item.outofstock", KindEvent, ""},
		// Commands must not have a past verb.
		{"v1.user.signup", KindCommand, ""},
		{"v1.email.send", KindCommand, ""},
		{"v1.order.proceed", KindCommand, ""},
		{"v1.counter.reset", KindCommand, ""},
		{"v1.build.step2", KindCommand, ""},
		{"v1.user.signedup", KindCommand, "v1.user.signup"},
		{"v1.email.sent", KindCommand, "v1.email.send"},
		{"v1.invoice.paid", KindCommand, "v1.invoice.pay"},
		{"v1.order.stopped", KindCommand, "v1.order.stop"},
		{"v1.user.created", KindCommand, "v1.user.create"},
		{"v1.user.applied", KindCommand, "v1.user.apply"},
		{"v1.order.cancelled", KindCommand, "v1.order.cancel"},
		{"v1.report.wrote", KindCommand, "v1.report.write"},
		{"v1.report.written", KindCommand, "v1.report.write"},
		{"v1.user.loggedin", KindCommand, "v1.user.login"},
		{"v1.sled.sled", KindCommand, ""},
		{"v1.user.frobnicated", KindCommand, ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTense(mustParse(t, tt.name), tt.kind)
			if tt.suggest == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrTense))
			assert.False(t, errors.Is(err, ErrInvalidName))
			assert.Contains(t, err.Error(), tt.kind.String()+` "`+tt.name+`"`)
			assert.Contains(t, err.Error(), "topic.SkipTenseCheck()")
			if tt.suggest == "-" {
				assert.NotContains(t, err.Error(), "did you mean")
			} else {
				assert.Contains(t, err.Error(), "did you mean "+tt.suggest+"?")
			}
		})
	}
}

func TestCheckTenseMessage(t *testing.T) {
	t.Parallel()
	err := CheckTense(mustParse(t, "v1.user.signup"), KindEvent)
	assert.EqualError(t, err, `choreo/topic: verb in the wrong tense: event "v1.user.signup": an event says what happened, `+
		`so its verb is in the past tense, and "signup" is not; did you mean v1.user.signedup? `+
		`If the verb is right as it is, pass topic.SkipTenseCheck()`)
	err = CheckTense(mustParse(t, "v1.user.signedup"), KindCommand)
	assert.EqualError(t, err, `choreo/topic: verb in the wrong tense: command "v1.user.signedup": a command says what to do, `+
		`so its verb is in the present tense, and "signedup" is past; did you mean v1.user.signup? `+
		`If the verb is right as it is, pass topic.SkipTenseCheck()`)
}

func TestCheckTenseBadInput(t *testing.T) {
	t.Parallel()
	err := CheckTense(Name{}, KindEvent)
	assert.ErrorIs(t, err, ErrInvalidName)
	err = CheckTense(mustParse(t, "v1.user.signup"), Kind(0))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Kind(0)")
	assert.False(t, errors.Is(err, ErrTense) || errors.Is(err, ErrInvalidName))
}

// TestSuggestionsPassTheCheck: whatever CheckTense suggests must itself be
// a valid name of the right kind.
func TestSuggestionsPassTheCheck(t *testing.T) {
	t.Parallel()
	for _, p := range verbPairs {
		for _, k := range []Kind{KindCommand, KindEvent} {
			for _, verb := range []string{p.present, p.past} {
				n := mustParse(t, "v1.thing."+verb)
				s, ok := suggestion(n, k)
				if !ok {
					continue
				}
				fixed := mustParse(t, s)
				assert.NoErrorf(t, CheckTense(fixed, k), "suggestion %q for %v %q", s, k, n)
			}
		}
	}
}

func TestSuggestionNeverExceedsTheLengthLimit(t *testing.T) {
	t.Parallel()
	entity := strings.Repeat("a", MaxNameLen-len("v1..signup"))
	n := mustParse(t, "v1."+entity+".signup")
	err := CheckTense(n, KindEvent)
	require.ErrorIs(t, err, ErrTense)
	assert.NotContains(t, err.Error(), "did you mean", "the past form would be too long to be a name")
	_, ok := SuggestName(n, KindEvent)
	assert.False(t, ok)
}

func TestInferKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind Kind
		ok   bool
	}{
		{"v1.user.signup", KindCommand, true},
		{"v1.user.signedup", KindEvent, true},
		{"v1.email.send", KindCommand, true},
		{"v1.email.sent", KindEvent, true},
		{"v1.user.email.changed", KindEvent, true},
		{"v1.job.ran", KindEvent, true},
		{"v1.job.run", KindCommand, true},
		{"v1.order.proceed", KindCommand, true},
		{"v1.order.proceeded", KindEvent, true},
		{"v1.counter.reset", 0, false},
		{"v1.value.put", 0, false},
		{"v1.price.cut", 0, false},
		{"v1.flag.set", 0, false},
		{"v1.message.read", 0, false},
		{"v1.system.shutdown", 0, false},
		{"v1.env.setup", 0, false},
	}
	for _, tt := range tests {
		k, ok := InferKind(mustParse(t, tt.name))
		assert.Equalf(t, tt.ok, ok, "InferKind(%q) ok", tt.name)
		assert.Equalf(t, tt.kind, k, "InferKind(%q)", tt.name)
	}
	k, ok := InferKind(Name{})
	assert.False(t, ok)
	assert.Zero(t, k)
}
