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
//   - the tense functions never panic on an accepted name, and any name
//     CheckTense suggests is valid and passes the check it suggests it for.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		// Valid.
		"v1.user.signup", "v1.user.signedup", "v2.user.email.changed",
		"v999999999.a.b", "v1.a.b.c.d.e.f", "v12.order2.item3.shipped",
		"v1.invoice.writtenoff", "v1.counter.reset", "v1.order.shipping",
		"v1.user.loggedin", "v1.report.wrote", "v1.x.panicked",
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

		InferKind(n)
		for _, k := range []Kind{KindCommand, KindEvent} {
			err := CheckTense(n, k)
			if err != nil && !errors.Is(err, ErrTense) {
				t.Fatalf("CheckTense(%q, %v): %v does not match ErrTense", s, k, err)
			}
			suggested, ok := suggestion(n, k)
			if !ok {
				continue
			}
			fixed, err := Parse(suggested)
			if err != nil {
				t.Fatalf("suggestion %q for %v %q: %v", suggested, k, s, err)
			}
			if err := CheckTense(fixed, k); err != nil {
				t.Fatalf("suggestion %q for %v %q fails: %v", suggested, k, s, err)
			}
		}
	})
}

// FuzzTense drives the tense rules with word-like verbs: every input byte
// becomes a lowercase letter, so nearly every input is a valid verb. For
// each kind, a suggestion must be a valid name that passes the check, and
// classifying, inflecting and suggesting must never panic.
func FuzzTense(f *testing.F) {
	for _, p := range verbPairs {
		f.Add(p.present)
		f.Add(p.past)
	}
	for _, w := range []string{"reset", "setup", "shipping", "queueing", "cancelled", "xyzzy", "aaaaed", "ied", "eed"} {
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
		k, ok := InferKind(n)
		if ok != (tenseOf(n.Verb) != both) || (ok && !k.valid()) {
			t.Fatalf("InferKind(%q) = %v, %v", n, k, ok)
		}
		for _, k := range []Kind{KindCommand, KindEvent} {
			err := CheckTense(n, k)
			if (err == nil) != fitsKind(tenseOf(n.Verb), k) {
				t.Fatalf("CheckTense(%q, %v) = %v, tense %v", n, k, err, tenseOf(n.Verb))
			}
			suggested, ok := suggestion(n, k)
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
		}
	})
}
