package topic

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrTense is matched (errors.Is) by the errors of CheckTense, NewCommand
// and NewEvent when a verb's tense certainly does not fit the kind: an event
// named with a known verb in the present tense, or a command named with one
// in the past tense. The message suggests the other form when one can be
// derived.
var ErrTense = errors.New("choreo/topic: verb in the wrong tense")

// Kind tells commands from events. The zero Kind is not a valid kind.
type Kind uint8

const (
	// KindCommand is a request to do something, named with a present-tense
	// verb (v1.user.signup) and handled by exactly one handler group.
	KindCommand Kind = iota + 1
	// KindEvent is a fact about something that happened, named with a
	// past-tense verb (v1.user.signedup) and delivered to every subscriber
	// group.
	KindEvent
)

// String returns "command" or "event", or "Kind(N)" for other values.
func (k Kind) String() string {
	switch k {
	case KindCommand:
		return "command"
	case KindEvent:
		return "event"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// valid reports whether k is KindCommand or KindEvent.
func (k Kind) valid() bool { return k == KindCommand || k == KindEvent }

// CheckTense reports whether n's verb can have the tense its kind needs:
// past for KindEvent, present for KindCommand. It rejects only what is
// certainly wrong, a verb TenseOf knows in the other tense: a present form
// of a known verb as an event (v1.user.signup, v1.order.shipping), a past
// form as a command (v1.user.created). Verbs that read the same in both
// tenses (reset, put, cut, ...) fit both kinds, and so, at run time, do
// words the rules do not know (v1.stock.low, v1.invoice.overdue): choreo
// lint warns about those instead (see TenseOf and SuggestName).
//
// The error matches ErrTense and, where a form can be derived, suggests the
// whole corrected name ("did you mean v1.user.signedup?"). A zero n gives an
// error matching ErrInvalidName; a k that is neither kind gives an error
// matching neither. CheckTense does not check the grammar (Parse does) and
// is safe for concurrent use.
func CheckTense(n Name, k Kind) error {
	if !k.valid() {
		return fmt.Errorf("choreo/topic: CheckTense with %v: the kind must be topic.KindCommand or topic.KindEvent", k)
	}
	if n.Verb == "" {
		return fmt.Errorf("%w %q: it has no verb; %s, e.g. %s", ErrInvalidName, n.String(), ruleShape, exampleName)
	}
	t := TenseOf(n.Verb)
	switch {
	case k == KindEvent && t == TensePresent:
		return tenseError(n, k, fmt.Sprintf(
			"an event says what happened, so its verb is in the past tense, and %q is not", n.Verb))
	case k == KindCommand && t == TensePast:
		return tenseError(n, k, fmt.Sprintf(
			"a command says what to do, so its verb is in the present tense, and %q is past", n.Verb))
	}
	return nil
}

func tenseError(n Name, k Kind, why string) error {
	hint := ""
	if s, ok := suggestion(n, k); ok {
		hint = "did you mean " + s + "? "
	}
	return fmt.Errorf("%w: %s %q: %s; %sIf the verb is right as it is, pass topic.SkipTenseCheck()",
		ErrTense, k, n.String(), why, hint)
}

// InferKind guesses the kind of n from its verb's tense: KindEvent for a
// past-tense verb, KindCommand for a present-tense one. ok is false when the
// verb reads the same in both tenses (reset, put, set, cut, read, ...) or n
// has no verb. For a word TenseOf does not know, the tense is guessed from
// the spelling: a word that looks like a regular past (frobnicated) gives
// KindEvent, any other word (low, ready) KindCommand; call TenseOf to tell
// a guess from a certainty. Tools that only see names (catalog linting,
// dead-letter inspection) use it; code that sends and receives knows the
// kind from its Command or Event. Safe for concurrent use.
func InferKind(n Name) (k Kind, ok bool) {
	if n.Verb == "" {
		return 0, false
	}
	switch guessTense(n.Verb) {
	case TensePast:
		return KindEvent, true
	case TensePresent:
		return KindCommand, true
	}
	return 0, false
}
