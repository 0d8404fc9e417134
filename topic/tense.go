package topic

import (
	"strconv"
	"strings"
)

// Tense is what the tense rules make of a verb. The rules only vouch for
// the words they know (the lists in verbs.go and regular.go, and the forms
// derived from them); every other word is TenseUnknown, and the run-time
// check lets it through.
type Tense uint8

const (
	// TenseUnknown is a word the rules do not know: an adjective or noun
	// used as a state ("low", "ready", "overdue", "green") or a verb missing
	// from the lists. CheckTense accepts it for both kinds; choreo lint
	// warns about it.
	TenseUnknown Tense = iota
	// TensePresent is a present form of a known verb: its base form
	// (create, send), a prefixed form (resend, reopen), a compound with a
	// particle (signup, checkout) or its -ing form (shipping). It fits a
	// command; CheckTense rejects it for an event.
	TensePresent
	// TensePast is a past form of a known verb: a listed irregular form
	// (sent, written, wrote), a regular -ed form whose base is a known verb
	// (created, cancelled), and their prefixed and compound forms (resent,
	// signedup). It fits an event; CheckTense rejects it for a command.
	TensePast
	// TenseBoth is a verb that reads the same in both tenses (reset, put,
	// cut, setup). It fits both kinds.
	TenseBoth
)

// String returns "unknown", "present", "past" or "both", or "Tense(N)".
func (t Tense) String() string {
	switch t {
	case TenseUnknown:
		return "unknown"
	case TensePresent:
		return "present"
	case TensePast:
		return "past"
	case TenseBoth:
		return "both"
	}
	return "Tense(" + strconv.Itoa(int(t)) + ")"
}

// TenseOf reports what the tense rules know about verb, the last segment
// of a topic name. A word is known when it is listed (about 120 irregular
// verbs with their past forms, some 720 regular verbs common in business
// systems, and the verbs that read the same in both tenses) or is built
// from a listed verb by an explicit rule:
//
//   - the regular past of a known regular verb: created, stopped,
//     applied, canceled and cancelled;
//   - the -ing form of a known verb: shipping, paying;
//   - a known verb behind a prefix: any known verb behind re, un or pre
//     (reopen, unlock, prebook), an irregular one behind any of under,
//     over, fore, out, mis and up as well (overpaid, underwrite);
//   - a known verb followed by a particle (up, in, out, off, on, over,
//     back, down), when the verb commonly takes one or is irregular:
//     signup, signedup, checkout, takenover.
//
// Everything else is TenseUnknown: "low", "ready", "overdue",
// "outofstock", and an -ed word whose base is not a known verb ("sled",
// "frobnicated"). TenseOf is safe for concurrent use.
func TenseOf(verb string) Tense { return readVerb(verb).tense }

// reading is what the lists make of a verb: its tense and the parts it was
// read as, so that the form of the other tense is built from the same
// parts (resend -> re + sent, signedup -> sign + up).
type reading struct {
	tense    Tense
	prefix   string // "re" in resend; "" when none
	base     string // the base form of the known verb at the core: "send"
	particle string // "up" in signup; "" when none
}

// readVerb reads w as a form of a known verb, possibly behind a prefix and
// before a particle. The zero reading (TenseUnknown) means it is not one.
func readVerb(w string) reading {
	if r, ok := readForm(w); ok {
		return r
	}
	if r, ok := readPrefixed(w); ok {
		return r
	}
	for _, p := range particles {
		if len(w) < len(p)+3 || !strings.HasSuffix(w, p) {
			continue
		}
		v := w[:len(w)-len(p)]
		if r, ok := readForm(v); ok && takesParticle(r) {
			r.particle = p
			return r
		}
		if r, ok := readPrefixed(v); ok && takesParticle(r) { // missungback: mis + sung + back
			r.particle = p
			return r
		}
	}
	return reading{}
}

// takesParticle reports whether the verb read as r may stand before a
// particle: only verbs that commonly take one, so that "dragon" is not
// read as "drag" + "on"; and not the shortest ones, so that "goon" is not
// "go" + "on" (nor "doneback" "done" + "back", whose present would be
// "doback").
func takesParticle(r reading) bool {
	return len(r.base) >= 3 && (irregularOrBoth(r.base) || particleBases.has(r.base))
}

// readPrefixed reads w as a verb prefix and a form of a known verb. Any
// prefix goes before an irregular verb (overpaid, underwrite, upset); only
// re, un and pre go before a regular one, because the others make nouns of
// too many of them (uptime, outage, overhead).
func readPrefixed(w string) (reading, bool) {
	if notPrefixed.has(w) {
		return reading{}, false
	}
	for _, p := range verbPrefixes {
		rest, ok := cutVerbPrefix(w, p)
		if !ok {
			continue
		}
		// The base must be long enough to be cut off in its own form too:
		// "overgone" is not over + gone when "overgo" cannot be over + go.
		r, ok := readForm(rest)
		if !ok || len(r.base) < 3 || notPrefixed.has(p+r.base) {
			continue // "unclean", and so "uncleaned", is not un + clean
		}
		if regularPrefixes.has(p) || irregularOrBoth(r.base) {
			r.prefix = p
			return r, true
		}
	}
	return reading{}, false
}

// readForm reads w as one form of a listed verb, without prefix or
// particle: the base form, a past form (listed, or the regular past of a
// listed regular verb) or the -ing form.
func readForm(w string) (reading, bool) {
	switch {
	case sameInBothTenses.has(w):
		return reading{tense: TenseBoth, base: w}, true
	case isIrregularBase(w) || regularVerbs.has(w):
		return reading{tense: TensePresent, base: w}, true
	}
	if b, ok := irregulars.baseOf[w]; ok {
		return reading{tense: TensePast, base: b}, true
	}
	if b, ok := regularForms.pastBase[w]; ok {
		return reading{tense: TensePast, base: b}, true
	}
	if b, ok := regularForms.gerundBase[w]; ok {
		return reading{tense: TensePresent, base: b}, true
	}
	return reading{}, false
}

// guessedPastBase guesses, for a word the lists do not know, the base a
// regular past could come from by its spelling alone
// (frobnicated -> frobnicate, pinged -> ping). The guess must look like
// a word (see plausibleBase), which keeps nouns and present verbs that
// merely end in -ed out: sled is not the past of "sle", nor steed of
// "stee".
func guessedPastBase(w string) (string, bool) {
	if len(w) < 4 || !strings.HasSuffix(w, "ed") || !onlyLetters(w) {
		return "", false
	}
	for _, c := range baseCandidates(w[:len(w)-2], strings.HasSuffix(w, "ied")) {
		if plausibleBase(c) && acceptsPast(c, w) {
			return c, true
		}
	}
	return "", false
}

// guessedGerundBase guesses, for a word the lists do not know, the verb
// behind an -ing form: pending -> pend. Like guessedPastBase, the guess must
// look like a word: "spring" is not the -ing form of "spr".
func guessedGerundBase(w string) (string, bool) {
	if len(w) < 5 || !strings.HasSuffix(w, "ing") {
		return "", false
	}
	for _, c := range baseCandidates(w[:len(w)-3], false) {
		spelled := regularGerund(c) == w || (strings.HasSuffix(c, "e") && c+"ing" == w) // queuing, queueing
		if spelled && plausibleBase(c) {
			return c, true
		}
	}
	return "", false
}

// guessTense is TenseOf with a guess for the words it does not know, made
// from their spelling alone: a word that looks like a regular past reads
// as past, any other word as present. It never returns TenseUnknown.
func guessTense(w string) Tense {
	if t := readVerb(w).tense; t != TenseUnknown {
		return t
	}
	if _, ok := guessedPastBase(w); ok {
		return TensePast
	}
	return TensePresent
}

func isIrregularBase(w string) bool {
	_, ok := irregulars.pastOf[w]
	return ok
}

// irregularOrBoth reports whether base is an irregular verb or one that
// reads the same in both tenses: verbs whose forms keep any prefix and any
// particle.
func irregularOrBoth(base string) bool {
	return isIrregularBase(base) || sameInBothTenses.has(base)
}
