package topic

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file pin down where the tense rules are certain and
// where they are not: only a known verb in the wrong tense is rejected at
// run time; every other word passes and is left to choreo lint.

type payload struct{}

// TestUnknownWordsPassAtRunTime: names people really use, whose verb is a
// state or a noun the rules do not know, must never be rejected at run
// time, as events or as commands.
func TestUnknownWordsPassAtRunTime(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"v1.invoice.overdue", "v1.order.ready", "v1.stock.low", "v1.item.outofstock",
		"v1.sled.sled", "v1.build.green", "v1.region.outage", "v1.server.uptime",
		"v1.shift.overtime", "v1.payment.unclear", "v1.job.pending", "v1.build.step2",
		"v1.herd.steed", "v1.count.hundred",
	} {
		n := mustParse(t, name)
		assert.Equalf(t, TenseUnknown, TenseOf(n.Verb), "TenseOf(%q)", n.Verb)
		for _, k := range []Kind{KindEvent, KindCommand} {
			assert.NoErrorf(t, CheckTense(n, k), "CheckTense(%q, %v)", name, k)
		}
		assert.NotPanicsf(t, func() { MustEvent[payload](name) }, "MustEvent(%q)", name)
		assert.NotPanicsf(t, func() { MustCommand[payload](name) }, "MustCommand(%q)", name)
		e, err := NewEvent[payload](name)
		require.NoError(t, err)
		assert.Equal(t, name, e.String())
		c, err := NewCommand[payload](name)
		require.NoError(t, err)
		assert.Equal(t, name, c.String())
	}
}

// TestKnownWrongTenseIsRejected: a known verb in the other tense is still
// an error at run time, with its suggestion.
func TestKnownWrongTenseIsRejected(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		kind    Kind
		suggest string
	}{
		{"v1.user.signup", KindEvent, "v1.user.signedup"},
		{"v1.order.shipping", KindEvent, "v1.order.shipped"},
		{"v1.order.reprocess", KindEvent, "v1.order.reprocessed"},
		{"v1.email.resend", KindEvent, "v1.email.resent"},
		{"v1.user.created", KindCommand, "v1.user.create"},
		{"v1.invoice.paid", KindCommand, "v1.invoice.pay"},
		{"v1.ticket.reopened", KindCommand, "v1.ticket.reopen"},
		{"v1.user.loggedin", KindCommand, "v1.user.login"},
		{"v1.herd.bred", KindCommand, "v1.herd.breed"},
	} {
		var err error
		if tt.kind == KindEvent {
			_, err = NewEvent[payload](tt.name)
			assert.PanicsWithErrorf(t, err.Error(), func() { MustEvent[payload](tt.name) }, "MustEvent(%q)", tt.name)
		} else {
			_, err = NewCommand[payload](tt.name)
			assert.PanicsWithErrorf(t, err.Error(), func() { MustCommand[payload](tt.name) }, "MustCommand(%q)", tt.name)
		}
		require.ErrorIsf(t, err, ErrTense, "%v %q", tt.kind, tt.name)
		assert.Contains(t, err.Error(), "did you mean "+tt.suggest+"?")
		s, ok := SuggestName(mustParse(t, tt.name), tt.kind)
		assert.True(t, ok)
		assert.Equal(t, tt.suggest, s)
	}
}

// TestWordsEndingInEdThatAreNotPast is the regression test for "sled",
// which read as the past of "sle": words whose -ed is not an ending are
// never rejected as commands, and never get a made-up base suggested.
func TestWordsEndingInEdThatAreNotPast(t *testing.T) {
	t.Parallel()
	for w, want := range map[string]Tense{
		"sled": TenseUnknown, "shed": TenseBoth, "bed": TensePresent, "seed": TensePresent,
		"feed": TensePresent, "need": TensePresent, "breed": TensePresent, "speed": TensePresent,
		"embed": TensePresent, "shred": TensePresent, "heed": TensePresent, "weed": TensePresent,
		"exceed": TensePresent, "proceed": TensePresent, "succeed": TensePresent, "bleed": TensePresent,
		"reseed": TensePresent, "steed": TenseUnknown, "greed": TenseUnknown, "creed": TenseUnknown,
		"tweed": TenseUnknown, "deed": TenseUnknown, "reed": TenseUnknown, "indeed": TenseUnknown,
	} {
		assert.Equalf(t, want, TenseOf(w), "TenseOf(%q)", w)
		assert.NotEqualf(t, TensePast, guessTense(w), "guessTense(%q)", w)
		got, ok := presentOf(w)
		assert.Truef(t, ok && got == w, "presentOf(%q) = %q, %v; want the word itself", w, got, ok)
		n := mustParse(t, "v1.thing."+w)
		assert.NoErrorf(t, CheckTense(n, KindCommand), "CheckTense(%q, command)", n)
		s, ok := SuggestName(n, KindCommand)
		assert.Falsef(t, ok, "SuggestName(%q, command) = %q", n, s)
		k, _ := InferKind(n)
		assert.NotEqualf(t, KindEvent, k, "InferKind(%q)", n)
	}
	// The -ee verbs whose past ends in -eed are known, and read as past.
	for past, base := range map[string]string{"agreed": "agree", "freed": "free", "guaranteed": "guarantee"} {
		assert.Equalf(t, TensePast, TenseOf(past), "TenseOf(%q)", past)
		got, _ := presentOf(past)
		assert.Equalf(t, base, got, "presentOf(%q)", past)
	}
}

func TestPlausibleBase(t *testing.T) {
	t.Parallel()
	for _, w := range []string{"sle", "sl", "she", "shre", "spr", "th", "nee", "stee", "twee", "de"} {
		assert.Falsef(t, plausibleBase(w), "plausibleBase(%q)", w)
	}
	for _, w := range []string{"use", "die", "age", "fulfil", "frobnicate", "onboard", "pend", "low"} {
		assert.Truef(t, plausibleBase(w), "plausibleBase(%q)", w)
	}
}

// TestPrefixedRegularVerbs: re, un and pre make verbs of known regular
// verbs; the other prefixes would make nouns of too many, and do not.
func TestPrefixedRegularVerbs(t *testing.T) {
	t.Parallel()
	for present, past := range map[string]string{
		"reprocess": "reprocessed", "unarchive": "unarchived", "prebook": "prebooked",
		"reassign": "reassigned", "unassign": "unassigned", "reactivate": "reactivated",
		"unpublish": "unpublished", "prefill": "prefilled", "resubmit": "resubmitted",
	} {
		assert.Equalf(t, TensePresent, TenseOf(present), "TenseOf(%q)", present)
		assert.Equalf(t, TensePast, TenseOf(past), "TenseOf(%q)", past)
		got, _ := pastOf(present)
		assert.Equalf(t, past, got, "pastOf(%q)", present)
		got, _ = presentOf(past)
		assert.Equalf(t, present, got, "presentOf(%q)", past)
	}
	for _, w := range []string{"uptime", "outage", "overhead", "overtime", "underage", "unclear", "unclean", "upkeep", "outcome"} {
		assert.Equalf(t, TenseUnknown, TenseOf(w), "TenseOf(%q)", w)
	}
}

// TestParticleNeedsAVerbThatTakesOne: "want" is a known verb but does not
// take a particle, so "wanton" is not "want" + "on".
func TestParticleNeedsAVerbThatTakesOne(t *testing.T) {
	t.Parallel()
	assert.Equal(t, TensePresent, TenseOf("want"))
	assert.Equal(t, TenseUnknown, TenseOf("wanton"))
	assert.Equal(t, TensePresent, TenseOf("signup"))
	assert.Equal(t, TensePast, TenseOf("signedup"))
}

// TestGuessesForUnknownWords: for a word the rules do not know, InferKind
// and SuggestName go by the spelling. The suggestion only makes sense if
// the word is a verb, which is why choreo lint words it as a question.
func TestGuessesForUnknownWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    Kind
		suggest string // "" for none
	}{
		{"v1.stock.low", KindEvent, "v1.stock.lowed"},
		{"v1.stock.low", KindCommand, ""},
		{"v1.user.frobnicated", KindCommand, "v1.user.frobnicate"},
		{"v1.user.frobnicated", KindEvent, ""},
		{"v1.job.pending", KindEvent, "v1.job.pended"},
		{"v1.sled.sled", KindCommand, ""},
		{"v1.herd.steed", KindCommand, ""},
		{"v1.build.step2", KindEvent, ""},
		{"v1.user.signup", KindCommand, ""},
		{"v1.user.signedup", KindEvent, ""},
		{"v1.counter.reset", KindEvent, ""},
		{"v1.counter.reset", KindCommand, ""},
	}
	for _, tt := range tests {
		n := mustParse(t, tt.name)
		s, ok := SuggestName(n, tt.kind)
		assert.Equalf(t, tt.suggest != "", ok, "SuggestName(%q, %v) = %q", tt.name, tt.kind, s)
		assert.Equalf(t, tt.suggest, s, "SuggestName(%q, %v)", tt.name, tt.kind)
	}
	_, ok := SuggestName(Name{}, KindEvent)
	assert.False(t, ok)
	_, ok = SuggestName(mustParse(t, "v1.user.signup"), Kind(0))
	assert.False(t, ok)

	for name, want := range map[string]Kind{
		"v1.stock.low": KindCommand, "v1.sled.sled": KindCommand, "v1.user.frobnicated": KindEvent,
		"v1.count.hundred": KindEvent, "v1.herd.steed": KindCommand,
	} {
		k, ok := InferKind(mustParse(t, name))
		assert.Truef(t, ok, "InferKind(%q)", name)
		assert.Equalf(t, want, k, "InferKind(%q)", name)
	}
}

// TestRegularVerbsInflect runs every listed regular verb through the rules:
// its past and its -ing form must read back to it, certainly.
func TestRegularVerbsInflect(t *testing.T) {
	t.Parallel()
	for w := range regularVerbs {
		assert.Equalf(t, TensePresent, TenseOf(w), "TenseOf(%q)", w)
		past := regularPast(w)
		got, _ := pastOf(w)
		assert.Equalf(t, past, got, "pastOf(%q)", w)
		assert.Equalf(t, TensePast, TenseOf(past), "TenseOf(%q), past of %q", past, w)
		got, _ = presentOf(past)
		assert.Equalf(t, w, got, "presentOf(%q)", past)
		gerund := regularGerund(w)
		assert.Equalf(t, TensePresent, TenseOf(gerund), "TenseOf(%q), -ing of %q", gerund, w)
		got, _ = pastOf(gerund)
		assert.Equalf(t, past, got, "pastOf(%q)", gerund)
	}
}

func TestTenseString(t *testing.T) {
	t.Parallel()
	for want, tense := range map[string]Tense{
		"unknown": TenseUnknown, "present": TensePresent, "past": TensePast, "both": TenseBoth, "Tense(7)": Tense(7),
	} {
		assert.Equal(t, want, tense.String())
	}
}

// TestTenseRulesOnDerivedWords runs checkTenseRules (fuzz_test.go) over
// every form of every known verb, alone, behind a prefix, before a
// particle and both, with the prefixes and particles taken in turn: the
// words a fuzzer seldom hits by chance, where the readings of prefixes,
// particles and spelling rules can contradict each other.
func TestTenseRulesOnDerivedWords(t *testing.T) {
	t.Parallel()
	var forms []string
	add := func(base string) {
		forms = append(forms, base, regularGerund(base))
		if past, ok := irregulars.forms[base]; ok {
			forms = append(forms, past...)
		} else {
			forms = append(forms, regularPast(base))
		}
	}
	for _, list := range []set{regularVerbs, sameInBothTenses} {
		for w := range list {
			add(w)
		}
	}
	for _, row := range irregularTable {
		add(row[0])
	}
	slices.Sort(forms) // the same combinations on every run
	for i, w := range forms {
		p := verbPrefixes[i%len(verbPrefixes)]
		q := particles[i%len(particles)]
		q2 := particles[(i/len(particles))%len(particles)]
		for _, v := range []string{w, p + w, w + q, p + w + q2} {
			checkTenseRules(t, mustParse(t, "v1.thing."+v))
		}
	}
}

// TestRegularFormsAreUnambiguous: no form of a known verb may be a form of
// another known verb too (like "filled", past of fill, was taken for the
// British past of file), or reading it would depend on which verb the
// index saw last.
func TestRegularFormsAreUnambiguous(t *testing.T) {
	t.Parallel()
	owner := map[string]string{}
	claim := func(form, base string) {
		if prev, ok := owner[form]; ok && prev != base {
			t.Errorf("%q is a form of both %q and %q", form, prev, base)
		}
		owner[form] = base
	}
	var bases []string
	for _, list := range []set{regularVerbs, sameInBothTenses} {
		for w := range list {
			bases = append(bases, w)
		}
	}
	slices.Sort(bases)
	for _, base := range bases {
		claim(regularPast(base), base)
		if british, ok := britishPast(base); ok {
			claim(british, base)
		}
		claim(regularGerund(base), base)
	}
	for _, row := range irregularTable {
		claim(regularGerund(row[0]), row[0])
		for _, past := range row[1:] {
			claim(past, row[0])
		}
	}
	for form, base := range owner {
		if isListed := regularVerbs.has(form) || isIrregularBase(form) || sameInBothTenses.has(form); isListed {
			t.Errorf("%q, a form of %q, is listed as a verb of its own", form, base)
		}
	}
	for base, want := range map[string]string{
		"cancel": "cancelled", "dial": "dialled", "pedal": "pedalled",
		"file": "", "fill": "", "install": "", "control": "",
	} {
		got, ok := britishPast(base)
		assert.Equalf(t, want, got, "britishPast(%q)", base)
		assert.Equalf(t, want != "", ok, "britishPast(%q)", base)
	}
}
