package topic

// Building the form of the other tense, for the "did you mean" of CheckTense
// and for SuggestName. A known verb gets its form from the lists, built
// from the parts it was read as (resend -> re + sent). A word the lists do
// not know gets the regular spelling's guess, which only makes sense if the
// word is a verb.

// SuggestName returns the name n would have as a topic of kind k: n with
// its verb in the tense k needs, past for an event and present for a
// command (v1.user.signup as an event: v1.user.signedup; v1.invoice.paid
// as a command: v1.invoice.pay).
//
// For a verb TenseOf knows, the form comes from the lists and is certain.
// For a word it does not know, the form is what the regular spelling rules
// make of it if it is a verb (frobnicate -> frobnicated, frobnicated ->
// frobnicate, but also low -> lowed), so present it as a question.
//
// ok is false when the verb already fits k as far as the rules can tell (a
// known verb of the right tense, an unknown word that looks like one), when
// no form can be derived (digits in the verb), when the result would not
// be a valid name, and for a k that is neither kind. Every name returned
// passes CheckTense for k. Safe for concurrent use.
func SuggestName(n Name, k Kind) (string, bool) {
	if n.Verb == "" {
		return "", false
	}
	return suggestion(n, k)
}

// suggestion derives the name n would have as a k. It only suggests names
// that are valid, pass CheckTense and whose verb, known or guessed, fits k.
func suggestion(n Name, k Kind) (string, bool) {
	var verb string
	var ok bool
	switch k {
	case KindEvent:
		verb, ok = pastOf(n.Verb)
	case KindCommand:
		verb, ok = presentOf(n.Verb)
	}
	if !ok || verb == n.Verb {
		return "", false
	}
	fixed := n
	fixed.Verb, fixed.canonical = verb, ""
	s := fixed.String()
	if parsed, p := parse(s); p.what != "" || !fitsKind(guessTense(parsed.Verb), k) {
		return "", false
	}
	return s, true
}

// pastOf gives the past form of w, the form an event name needs: signup ->
// signedup, pay -> paid, resend -> resent, shipping -> shipped; for an
// unknown word, the regular spelling's guess. ok is false for words with
// digits, which the spelling rules cannot inflect.
func pastOf(w string) (string, bool) {
	if !onlyLetters(w) {
		return "", false
	}
	r := readVerb(w)
	switch r.tense {
	case TensePast, TenseBoth:
		return w, true
	case TensePresent:
		return r.prefix + pastForm(r.base) + r.particle, true
	}
	if _, ok := guessedPastBase(w); ok {
		return w, true
	}
	if b, ok := guessedGerundBase(w); ok {
		return regularPast(b), true
	}
	return regularPast(w), true
}

// presentOf gives the present form of w, the form a command name needs:
// signedup -> signup, paid -> pay, cancelled -> cancel; for an unknown word
// that looks like a regular past, the base the spelling rules guess.
func presentOf(w string) (string, bool) {
	if !onlyLetters(w) {
		return "", false
	}
	r := readVerb(w)
	switch r.tense {
	case TensePresent, TenseBoth:
		return w, true
	case TensePast:
		return r.prefix + r.base + r.particle, true
	}
	if b, ok := guessedPastBase(w); ok {
		return b, true
	}
	return w, true
}

// pastForm is the past form suggested for the base form of a known verb.
func pastForm(base string) string {
	if p, ok := irregulars.pastOf[base]; ok {
		return p
	}
	if sameInBothTenses.has(base) {
		return base
	}
	return regularPast(base)
}

// fitsKind reports whether a verb of tense t may name a topic of kind k.
func fitsKind(t Tense, k Kind) bool {
	switch k {
	case KindEvent:
		return t != TensePresent
	case KindCommand:
		return t != TensePast
	}
	return false
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
	if sameInBothTenses.has(base) && past == base {
		return true
	}
	if regularPast(base) == past {
		return true
	}
	british, ok := britishPast(base)
	return ok && british == past
}

// irregularForms returns every accepted past form of an irregular verb,
// prefixed ones included (resend: resent).
func irregularForms(base string) ([]string, bool) {
	if forms, ok := irregulars.forms[base]; ok {
		return forms, true
	}
	prefix, rest, ok := splitPrefixedIrregular(base)
	if !ok {
		return nil, false
	}
	forms := irregulars.forms[rest]
	prefixed := make([]string, len(forms))
	for i, f := range forms {
		prefixed[i] = prefix + f
	}
	return prefixed, true
}

// splitPrefixedIrregular splits the base form of a prefixed irregular verb
// into its prefix and the verb: resend -> re + send, misspell -> mis +
// spell. Words that only look like that (present, relay) are not split.
func splitPrefixedIrregular(w string) (prefix, rest string, ok bool) {
	if notPrefixed.has(w) {
		return "", "", false
	}
	for _, p := range verbPrefixes {
		if r, ok := cutVerbPrefix(w, p); ok && isIrregularBase(r) {
			return p, r, true
		}
	}
	return "", "", false
}
