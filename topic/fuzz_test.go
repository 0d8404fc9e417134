package topic

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary strings. It must never panic, and:
//   - a rejected string gives an error matching ErrInvalidName and the zero
//     Name;
//   - an accepted string round-trips: Parse(s).String() == s, a copy of the
//     fields without the cached text formats to s too, and parsing
//     String() again gives the same fields;
//   - the tense rules hold on every accepted name (checkTenseRules).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		// Valid.
		"v1.user.signup", "v1.user.signedup", "v2.user.email.changed",
		"v999999999.a.b", "v1.a.b.c.d.e.f", "v12.order2.item3.shipped",
		"v1.invoice.writtenoff", "v1.counter.reset", "v1.order.shipping",
		"v1.user.loggedin", "v1.report.wrote", "v1.x.panicked",
		"v1.invoice.overdue", "v1.order.ready", "v1.stock.low", "v1.item.outofstock",
		"v1.sled.sled", "v1.herd.steed", "v1.ticket.reopened", "v1.app.startup",
		// Invalid.
		"", ".", "..", "v1", "v1.user", "v0.user.signup", "v01.user.signup",
		"V1.user.signup", "v1.User.signup", "v1.user.sign-up", "v1.user.sign_up",
		"v1.user.*", "v1.user.>", "v1..signup", ".v1.user.signup", "v1.user.signup.",
		"v1.user.sign up", "v1.usér.signup", "v1.user.\xff", "v1000000000.a.b",
		"v99999999999999999999.a.b", "1.user.signup", "v1.2fa.on", "v-1.a.b",
		" v1.user.signup", "v1.user.signup\n", "v1.user.sign\x00up",
		"v1." + strings.Repeat("a", MaxNameLen) + ".b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("Parse(%q): error %v does not match ErrInvalidName", s, err)
			}
			if !n.IsZero() {
				t.Fatalf("Parse(%q) failed but returned %#v", s, n)
			}
			return
		}
		if got := n.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		if n.Version < 1 || n.Version > MaxVersion || len(s) > MaxNameLen || n.IsZero() {
			t.Fatalf("Parse(%q) accepted %#v", s, n)
		}
		if n.Qualifiers != nil && len(n.Qualifiers) == 0 {
			t.Fatalf("Parse(%q): empty, non-nil Qualifiers", s)
		}
		fields := Name{Version: n.Version, Entity: n.Entity, Qualifiers: slices.Clone(n.Qualifiers), Verb: n.Verb}
		if got := fields.String(); got != s {
			t.Fatalf("fields of Parse(%q) format as %q", s, got)
		}
		again, err := Parse(n.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", n.String(), err)
		}
		if again.Version != n.Version || again.Entity != n.Entity || again.Verb != n.Verb ||
			!slices.Equal(again.Qualifiers, n.Qualifiers) {
			t.Fatalf("re-parse of %q gives %#v, want %#v", s, again, n)
		}

		checkTenseRules(t, n)
	})
}

// FuzzTense drives the tense rules with word-like verbs: every input byte
// becomes a lowercase letter, so nearly every input is a valid verb and the
// rules' lists, prefixes, particles and spelling guesses all get exercised.
func FuzzTense(f *testing.F) {
	for _, p := range verbPairs {
		f.Add(p.present)
		f.Add(p.past)
	}
	for _, w := range []string{
		"reset", "setup", "shipping", "queueing", "cancelled", "xyzzy", "aaaaed", "ied", "eed",
		"sled", "steed", "overdue", "outofstock", "reprocessed", "unclear", "wanton", "frobnicated",
	} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if raw == "" || len(raw) > MaxNameLen-len("v1.x.") {
			return
		}
		verb := []byte(raw)
		for i, b := range verb {
			verb[i] = 'a' + b%26
		}
		n, err := Parse("v1.x." + string(verb))
		if err != nil {
			t.Fatalf("letters-only verb %q rejected: %v", verb, err)
		}
		checkTenseRules(t, n)
	})
}

// checkTenseRules checks what the tense rules promise for a parsed name n:
//   - the run time rejects n for a kind only when TenseOf knows its verb in
//     the other tense, with an error matching ErrTense; SkipTenseCheck
//     lets every name through;
//   - the spelling guess (InferKind, SuggestName) agrees with TenseOf on
//     every word TenseOf knows;
//   - a suggestion is a valid name that passes CheckTense and whose verb,
//     known or guessed, fits the kind; for a known verb it is a known form.
func checkTenseRules(t *testing.T, n Name) {
	t.Helper()
	known, guess := TenseOf(n.Verb), guessTense(n.Verb)
	if guess == TenseUnknown || (known != TenseUnknown && guess != known) {
		t.Fatalf("%q: TenseOf %v, guessTense %v", n, known, guess)
	}
	k, ok := InferKind(n)
	if ok != (guess != TenseBoth) || (ok && !fitsKind(guess, k)) {
		t.Fatalf("InferKind(%q) = %v, %v; tense %v", n, k, ok, guess)
	}
	for _, k := range []Kind{KindCommand, KindEvent} {
		wrong := (k == KindEvent && known == TensePresent) || (k == KindCommand && known == TensePast)
		rejected := CheckTense(n, k)
		if (rejected != nil) != wrong || (rejected != nil && !errors.Is(rejected, ErrTense)) {
			t.Fatalf("CheckTense(%q, %v) = %v; TenseOf %v", n, k, rejected, known)
		}
		if err := newTopic(k, n.String()); (err != nil) != wrong {
			t.Fatalf("New%v(%q) = %v; TenseOf %v", k, n, err, known)
		}
		if err := newTopic(k, n.String(), SkipTenseCheck()); err != nil {
			t.Fatalf("New%v(%q, SkipTenseCheck()) = %v", k, n, err)
		}
		suggested, ok := SuggestName(n, k)
		if !ok {
			continue
		}
		fixed, err := Parse(suggested)
		if err != nil {
			t.Fatalf("suggestion %q for %v %q: %v", suggested, k, n, err)
		}
		if err := CheckTense(fixed, k); err != nil {
			t.Fatalf("suggestion %q for %v %q fails: %v", suggested, k, n, err)
		}
		if !fitsKind(guessTense(fixed.Verb), k) {
			t.Fatalf("suggestion %q for %v %q reads as %v", suggested, k, n, guessTense(fixed.Verb))
		}
		if wrong && !fitsKind(TenseOf(fixed.Verb), k) || wrong && TenseOf(fixed.Verb) == TenseUnknown {
			t.Fatalf("suggestion %q for %v %q is not a known form: %v", suggested, k, n, TenseOf(fixed.Verb))
		}
		if wrong && !strings.Contains(rejected.Error(), "did you mean "+suggested+"?") {
			t.Fatalf("CheckTense(%q, %v) does not suggest %q: %v", n, k, suggested, rejected)
		}
	}
}

// newTopic builds a typed topic of kind k with NewCommand or NewEvent.
func newTopic(k Kind, name string, opts ...Option) error {
	if k == KindCommand {
		_, err := NewCommand[int](name, opts...)
		return err
	}
	_, err := NewEvent[int](name, opts...)
	return err
}
