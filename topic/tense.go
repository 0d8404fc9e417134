package topic

import "strings"

// tense is what a verb reads as.
type tense uint8

const (
	present tense = iota + 1 // signup, create, pay: a command
	past                     // signedup, created, paid: an event
	both                     // reset, put, cut: either
)

// tenseOf classifies a verb segment. The order matters: lists first, then
// prefixed irregular verbs (resend/resent), then verb + particle compounds
// (signup/signedup), then the regular -ed rule. Everything else reads as
// present, which is what nouns and adjectives used as verbs also get.
func tenseOf(w string) tense {
	if sameInBothTenses.has(w) {
		return both
	}
	if _, ok := irregulars.pastOf[w]; ok {
		return present
	}
	if _, ok := irregulars.baseOf[w]; ok {
		return past
	}
	if _, rest, ok := splitPrefixedIrregular(w); ok {
		return tenseOf(rest)
	}
	if base, _, ok := splitParticle(w); ok {
		return tenseOf(base)
	}
	if isRegularPast(w) {
		return past
	}
	return present
}

// isRegularPast reports whether w ends in -ed like a regular past form and
// is not one of the present-tense verbs that happen to (need, proceed).
func isRegularPast(w string) bool {
	return len(w) >= 4 && strings.HasSuffix(w, "ed") && !inSetWithPrefix(presentEndingInEd, w)
}

// irregularBase reports whether w is, possibly behind a verb prefix, the
// base form of an irregular verb: send, resend, overpay.
func irregularBase(w string) (string, bool) {
	if _, ok := irregulars.pastOf[w]; ok {
		return w, true
	}
	if _, rest, ok := splitPrefixedIrregular(w); ok {
		if _, isBase := irregulars.pastOf[rest]; isBase {
			return w, true
		}
	}
	return "", false
}

// splitPrefixedIrregular splits w into a verb prefix and an irregular verb,
// or a verb that reads the same in both tenses, in any form: "resent" is
// "re" + "sent", "upset" is "up" + "set". Words that only look like that
// (relay, present) are not split.
func splitPrefixedIrregular(w string) (prefix, rest string, ok bool) {
	if notPrefixed.has(w) {
		return "", "", false
	}
	for _, p := range verbPrefixes {
		r, ok := cutVerbPrefix(w, p)
		if !ok {
			continue
		}
		_, isBase := irregulars.pastOf[r]
		_, isPast := irregulars.baseOf[r]
		if isBase || isPast || sameInBothTenses.has(r) {
			return p, r, true
		}
	}
	return "", "", false
}

// splitParticle splits a compound verb into its verb and trailing particle:
// "signup" -> "sign" + "up", "tookover" -> "took" + "over". The verb part
// must be one the package knows, so ordinary words that happen to end in a
// particle ("maintain", "reason", "hover") are left whole.
func splitParticle(w string) (verb, particle string, ok bool) {
	for _, p := range particles {
		if len(w) < len(p)+3 || !strings.HasSuffix(w, p) {
			continue
		}
		v := w[:len(w)-len(p)]
		if knownVerb(v) {
			return v, p, true
		}
	}
	return "", "", false
}

// knownVerb reports whether w is a verb form some list or rule vouches for.
func knownVerb(w string) bool {
	if sameInBothTenses.has(w) || particleBases.has(w) || isRegularPast(w) {
		return true
	}
	if _, ok := irregulars.pastOf[w]; ok {
		return true
	}
	if _, ok := irregulars.baseOf[w]; ok {
		return true
	}
	_, _, ok := splitPrefixedIrregular(w)
	return ok
}

// pastOf suggests the past form of a present-tense verb, the form an event
// name needs: signup -> signedup, pay -> paid, resend -> resent,
// shipping -> shipped. ok is false when no form can be derived (digits,
// or a word the rules cannot make sense of).
func pastOf(w string) (string, bool) {
	if !onlyLetters(w) {
		return "", false
	}
	switch tenseOf(w) {
	case past, both:
		return w, true
	}
	if p, ok := irregulars.pastOf[w]; ok {
		return p, true
	}
	if prefix, rest, ok := splitPrefixedIrregular(w); ok {
		if p, isBase := irregulars.pastOf[rest]; isBase {
			return prefix + p, true
		}
	}
	if verb, particle, ok := splitParticle(w); ok {
		if p, ok := pastOf(verb); ok {
			return p + particle, true
		}
		return "", false
	}
	if base, ok := gerundBase(w); ok {
		return pastOf(base)
	}
	return regularPast(w), true
}

// presentOf suggests the present form of a past-tense verb, the form a
// command name needs: signedup -> signup, paid -> pay, cancelled -> cancel.
func presentOf(w string) (string, bool) {
	if !onlyLetters(w) {
		return "", false
	}
	switch tenseOf(w) {
	case present, both:
		return w, true
	}
	if b, ok := irregulars.baseOf[w]; ok {
		return b, true
	}
	if prefix, rest, ok := splitPrefixedIrregular(w); ok {
		if b, isPast := irregulars.baseOf[rest]; isPast {
			return prefix + b, true
		}
	}
	if verb, particle, ok := splitParticle(w); ok {
		if b, ok := presentOf(verb); ok {
			return b + particle, true
		}
		return "", false
	}
	stem := w[:len(w)-2]
	for _, c := range baseCandidates(stem, strings.HasSuffix(w, "ied")) {
		if hasVowel(c) && tenseOf(c) != past && acceptsPast(c, w) {
			return c, true
		}
	}
	return "", false
}

// acceptsPast reports whether past is an accepted past form of base. Both
// American and British spellings count: canceled and cancelled.
func acceptsPast(base, past string) bool {
	if forms, ok := irregularForms(base); ok {
		for _, f := range forms {
			if f == past {
				return true
			}
		}
		return false
	}
	if tenseOf(base) == both && past == base {
		return true
	}
	rp := regularPast(base)
	if rp == past {
		return true
	}
	// British doubling of a final l: canceled / cancelled.
	return strings.HasSuffix(rp, "led") && !strings.HasSuffix(rp, "lled") &&
		past == rp[:len(rp)-3]+"lled"
}

// irregularForms returns every accepted past form of an irregular verb,
// prefixed ones included.
func irregularForms(base string) ([]string, bool) {
	if forms, ok := irregulars.forms[base]; ok {
		return forms, true
	}
	prefix, rest, ok := splitPrefixedIrregular(base)
	if !ok {
		return nil, false
	}
	forms, ok := irregulars.forms[rest]
	if !ok {
		return nil, false
	}
	prefixed := make([]string, len(forms))
	for i, f := range forms {
		prefixed[i] = prefix + f
	}
	return prefixed, true
}

// gerundBase finds the verb behind an -ing form: shipping -> ship,
// creating -> create, applying -> apply. Used to turn an event named like
// "v1.order.shipping" into the suggestion "v1.order.shipped".
func gerundBase(w string) (string, bool) {
	if len(w) < 5 || !strings.HasSuffix(w, "ing") {
		return "", false
	}
	for _, c := range baseCandidates(w[:len(w)-3], false) {
		spelled := regularGerund(c) == w || (strings.HasSuffix(c, "e") && c+"ing" == w) // queuing, queueing
		if spelled && hasVowel(c) && tenseOf(c) == present {
			return c, true
		}
	}
	return "", false
}
