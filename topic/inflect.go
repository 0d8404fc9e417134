package topic

import "strings"

// The regular English inflection rules. Forward (base -> past, base ->
// gerund) is a handful of spelling rules; it builds the forms of every
// listed regular verb (regularForms in verbs.go), so the known forms never
// depend on guessing. Backward (past -> base) is guesswork, used only for
// words the lists do not know: every guess is checked by inflecting it
// forward again, and a guess that does not lead back to the word it came
// from, or does not look like a word (plausibleBase), is dropped.

// isVowelAt reports whether w[i] sounds as a vowel: a, e, i, o; u except
// after q ("quit"); y after a consonant ("sync", "apply", but not "play").
func isVowelAt(w string, i int) bool {
	switch w[i] {
	case 'a', 'e', 'i', 'o':
		return true
	case 'u':
		return i == 0 || w[i-1] != 'q'
	case 'y':
		return i > 0 && !isVowelAt(w, i-1)
	}
	return false
}

// syllables counts the groups of vowels in w, which is close enough to its
// syllables for the doubling and final-e rules.
func syllables(w string) int {
	n := 0
	for i := range len(w) {
		if isVowelAt(w, i) && (i == 0 || !isVowelAt(w, i-1)) {
			n++
		}
	}
	return n
}

// endsConsonantVowelConsonant reports whether a one-syllable w ends in a
// single vowel between consonants, the shape that doubles its last letter:
// stop -> stopped, plan -> planned, but not sign, play, fix or sync.
func endsConsonantVowelConsonant(w string) bool {
	n := len(w)
	return n >= 3 && syllables(w) == 1 &&
		strings.IndexByte("bdgklmnprstvz", w[n-1]) >= 0 &&
		isVowelAt(w, n-2) && !isVowelAt(w, n-3)
}

// doublesFinal reports whether w doubles its last consonant before -ed and
// -ing: one-syllable verbs of the stop shape, listed verbs with a stressed
// last syllable (commit, control), and both kinds behind a prefix (unzip,
// refer, resubmit).
func doublesFinal(w string) bool {
	if doublesFinalConsonant.has(w) || endsConsonantVowelConsonant(w) {
		return true
	}
	for _, p := range verbPrefixes {
		if rest, ok := cutVerbPrefix(w, p); ok &&
			(doublesFinalConsonant.has(rest) || (endsConsonantVowelConsonant(rest) && canStartWord(rest))) {
			return true
		}
	}
	return false
}

// canStartWord reports whether w begins the way an English word can, so
// that "render" is not read as "re" + "nder" (and doubled like "refer").
func canStartWord(w string) bool {
	if isVowelAt(w, 0) || isVowelAt(w, 1) {
		return true
	}
	switch w[:2] {
	case "bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gl", "gr", "kn", "ph", "pl", "pr",
		"sc", "sh", "sk", "sl", "sm", "sn", "sp", "st", "sw", "th", "tr", "tw", "wh", "wr":
		return true
	}
	return false
}

// cutVerbPrefix returns what is left of w after the verb prefix p, if w
// starts with p and the rest is long enough to be a verb.
func cutVerbPrefix(w, p string) (string, bool) {
	if len(w) >= len(p)+3 && strings.HasPrefix(w, p) {
		return w[len(p):], true
	}
	return "", false
}

// inSetWithPrefix reports whether w, or w without a verb prefix, is in s:
// "resync" counts as "sync".
func inSetWithPrefix(s set, w string) bool {
	if s.has(w) {
		return true
	}
	for _, p := range verbPrefixes {
		if rest, ok := cutVerbPrefix(w, p); ok && s.has(rest) {
			return true
		}
	}
	return false
}

// regularPast inflects a regular verb: create -> created, apply -> applied,
// stop -> stopped, panic -> panicked, sign -> signed. American spelling:
// cancel -> canceled (cancelled is accepted too, see acceptsPast).
func regularPast(w string) string {
	return inflectRegular(w, "ed")
}

// britishPast is the British spelling of the regular past of a verb that
// ends in a single l after a vowel: cancel -> cancelled, fuel -> fuelled,
// dial -> dialled, where American spelling has canceled, fueled, dialed.
// ok is false when the two spellings are the same (control -> controlled,
// install -> installed) and for every other verb: file -> filed has no
// "filled".
func britishPast(base string) (string, bool) {
	n := len(base)
	if n < 3 || base[n-1] != 'l' || base[n-2] == 'l' || !isVowelAt(base, n-2) {
		return "", false
	}
	if rp := regularPast(base); rp == base+"ed" {
		return base + "led", true
	}
	return "", false
}

// regularGerund is regularPast's sibling for -ing: create -> creating.
func regularGerund(w string) string {
	n := len(w)
	switch {
	case strings.HasSuffix(w, "ie"):
		return w[:n-2] + "ying"
	case w[n-1] == 'e' && n >= 2 && !strings.ContainsRune("eoy", rune(w[n-2])):
		return w[:n-1] + "ing"
	}
	return inflectRegular(w, "ing")
}

func inflectRegular(w, suffix string) string {
	n := len(w)
	switch {
	case w[n-1] == 'e' && suffix == "ed":
		return w + "d"
	case w[n-1] == 'y' && suffix == "ed" && isVowelAt(w, n-1):
		return w[:n-1] + "ied"
	case strings.HasSuffix(w, "ic") && syllables(w) >= 2:
		return w + "k" + suffix
	case doublesFinal(w):
		return w + w[n-1:] + suffix
	}
	return w + suffix
}

// baseCandidates guesses the base forms a regular past or gerund could come
// from, most likely first. stem is the word without its -ed or -ing.
func baseCandidates(stem string, ied bool) []string {
	n := len(stem)
	if n == 0 {
		return nil
	}
	if ied { // applied -> apply; died -> die
		if n > 2 {
			return []string{stem[:n-1] + "y"}
		}
		return []string{stem + "e"}
	}
	if n >= 2 && stem[n-1] == stem[n-2] && !isVowelAt(stem, n-1) {
		undoubled := stem[:n-1]
		switch stem[n-1] {
		case 'l':
			if prefersSingleL(undoubled) {
				return []string{undoubled, stem}
			}
			return []string{stem, undoubled}
		case 's', 'f', 'z':
			return []string{stem, undoubled} // passed, staffed, buzzed
		}
		return []string{undoubled, stem} // stopped, committed; added falls back
	}
	var c []string
	if strings.HasSuffix(stem, "ick") && syllables(stem) >= 2 {
		c = append(c, stem[:n-1]) // panicked -> panic
	}
	if strings.HasSuffix(stem, "y") && n <= 2 {
		c = append(c, stem[:n-1]+"ie") // dying -> die; applying stays apply
	}
	if needsFinalE(stem) {
		return append(c, stem+"e", stem)
	}
	return append(c, stem, stem+"e")
}

// prefersSingleL reports whether a past in -lled most likely comes from a
// verb in a single l, doubled in British spelling: cancelled -> cancel,
// fuelled -> fuel; but installed -> install, misspelled -> misspell.
func prefersSingleL(undoubled string) bool {
	if inSetWithPrefix(doubledLInBritish, undoubled) {
		return true
	}
	if !strings.HasSuffix(undoubled, "el") || syllables(undoubled) < 2 {
		return false
	}
	_, _, irregular := splitPrefixedIrregular(undoubled + "l") // misspell, resell
	return !irregular && !isIrregularBase(undoubled+"l")
}

// needsFinalE guesses whether the base of the regular past stem+"ed" ends in
// a silent e ("creat" -> create, "sign" -> sign). Only the order in which
// baseCandidates tries the two spellings depends on it.
func needsFinalE(stem string) bool {
	n := len(stem)
	if n <= 2 { // used, owed, aged
		return true
	}
	if inSetWithPrefix(keepsFinalE, stem+"e") {
		return true
	}
	if inSetWithPrefix(dropsFinalE, stem) {
		return false
	}
	last, prev := stem[n-1], stem[n-2]
	consonantBefore := !isVowelAt(stem, n-2)
	singleVowelBefore := !consonantBefore && !isVowelAt(stem, n-3)
	several := syllables(stem) >= 2
	switch last {
	case 'e', 'u', 'v', 'c': // agreed, queued, saved, produced
		return true
	case 'g': // changed, charged, judged, engaged; but pinged, belonged
		if consonantBefore {
			if prev == 'n' {
				return !strings.HasSuffix(stem, "ing") && !strings.HasSuffix(stem, "ong")
			}
			return prev == 'r' || prev == 'd' || prev == 'l'
		}
		return singleVowelBefore
	case 'z': // authorized, seized
		return !consonantBefore
	case 's': // closed, paused, licensed, reversed; but focused
		return !consonantBefore || strings.IndexByte("nrpl", prev) >= 0
	case 't':
		switch {
		case consonantBefore: // started, posted
			return false
		case !singleVowelBefore: // initiated, evaluated; but treated, waited
			return strings.HasSuffix(stem, "iat") || strings.HasSuffix(stem, "uat")
		case prev == 'e': // deleted, completed; but targeted
			return stem[n-3] == 'l' || stem[n-3] == 'p'
		}
		return prev == 'a' || prev == 'o' || prev == 'u' // updated, voted, executed; visited
	case 'd', 'k', 'b', 'f': // decided, invoked, described
		return singleVowelBefore
	case 'l':
		if consonantBefore { // handled, enabled; but curled, crawled
			return prev != 'r' && prev != 'w'
		}
		if !singleVowelBefore { // failed, fueled
			return false
		}
		switch prev {
		case 'e': // canceled, labeled
			return false
		case 'a': // scaled; but totaled
			return !several
		}
		return true // filed, scheduled, styled
	case 'm': // named, consumed; but claimed, bottomed
		return singleVowelBefore && (prev != 'o' || !several)
	case 'n': // combined, tuned, zoned; but opened, planned, versioned
		if !singleVowelBefore {
			return false
		}
		return prev == 'i' || prev == 'u' || (prev == 'o' && !several)
	case 'p': // typed, escaped; but developed
		return singleVowelBefore && (prev != 'o' || !several)
	case 'r': // stored, required, secured; but cleared, ordered, monitored
		if consonantBefore {
			return true
		}
		return singleVowelBefore && prev != 'e' && prev != 'o'
	case 'h': // bathed; but attached, published
		return prev == 't' && isVowelAt(stem, n-3)
	}
	return false
}

// plausibleBase reports whether w, guessed as the base form behind a
// regular past or -ing form of a word the lists do not know, looks like a
// word of its own:
//
//   - it has a vowel sound besides a final silent e. The "ed" of sled,
//     shed or shred is the word's own vowel, not an ending: "sle", "she"
//     and "shre" are no bases, and neither are "spr" (spring) or "th"
//     (thing).
//   - it does not end in "ee". The few verbs that do (agree, free,
//     guarantee) are listed; the words that end in -eed are mostly present
//     verbs and nouns (need, seed, speed, steed, greed), not past forms of
//     "nee", "see" or "stee".
func plausibleBase(w string) bool {
	if strings.HasSuffix(w, "ee") {
		return false
	}
	return hasVowel(strings.TrimSuffix(w, "e"))
}

// hasVowel reports whether w has at least one vowel sound.
func hasVowel(w string) bool {
	for i := range len(w) {
		if isVowelAt(w, i) {
			return true
		}
	}
	return false
}

// onlyLetters reports whether w is made of lowercase ASCII letters, the only
// words the inflection rules know how to handle.
func onlyLetters(w string) bool {
	for i := range len(w) {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return w != ""
}
