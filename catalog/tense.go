package catalog

import (
	"fmt"
	"strings"

	"github.com/choreo-bus/choreo/topic"
)

// The tense checks of a topic name. They follow the certainty of the tense
// rules (topic.TenseOf): a known verb in the wrong tense is an error, as it
// is at run time; a word the rules do not know is a warning, because the
// rules cannot tell a state ("v1.stock.low") from a verb they miss in the
// wrong tense. skip_tense_check: true lets the first through and silences
// the second; anywhere else it is not needed, and says so.

func (l *linter) topicName(t *Topic) {
	if t.parseErr != nil {
		// topic's message repeats the name; the diagnostic names it already.
		msg := strings.TrimPrefix(t.parseErr.Error(), fmt.Sprintf("choreo/topic: invalid name %q: ", t.Name))
		l.errorf(RuleGrammar, t.Line, "topic %s: invalid name: %s", t.Name, msg)
		return
	}
	verb := t.parsed.Verb
	tense := topic.TenseOf(verb)
	if !t.KindDeclared {
		switch tense {
		case topic.TenseBoth:
			l.errorf(RuleKind, t.Line, "topic %s: the verb %q reads the same as a command and as an event; declare `kind: command` or `kind: event`", t.Name, verb)
		case topic.TenseUnknown:
			if t.SkipTenseCheck {
				break // the warning below says what to do
			}
			l.warnf(RuleTense, t.Line, "topic %s: the tense rules do not know the verb %q, so the kind %s is a guess from its spelling; declare `kind: command` or `kind: event`, and add skip_tense_check: true if the verb is right", t.Name, verb, kindName(t.Kind))
		}
		if t.SkipTenseCheck {
			l.warnf(RuleTense, t.Line, "topic %s: skip_tense_check has no effect without a declared kind; add `kind: command` or `kind: event`, or remove it", t.Name)
		}
		return
	}
	switch {
	case tense == topic.TenseUnknown:
		if !t.SkipTenseCheck {
			l.warnf(RuleTense, t.KindLine, "topic %s: the tense rules do not know the verb %q, so they cannot check it: %s If the name is right as it is, add skip_tense_check: true", t.Name, verb, endSentence(tenseNeed(t.Kind)+guessedFix(t)))
		}
	case topic.CheckTense(t.parsed, t.Kind) != nil:
		if !t.SkipTenseCheck {
			fix := ""
			if s, ok := topic.SuggestName(t.parsed, t.Kind); ok {
				fix = "; did you mean " + s + "?"
			}
			why := fmt.Sprintf("%s, and %q is in the %s tense%s", tenseNeed(t.Kind), verb, tense, fix)
			l.errorf(RuleTense, t.KindLine, "topic %s: declared kind %s contradicts the verb's tense: %s If the tense rules misread this verb, add skip_tense_check: true", t.Name, kindName(t.Kind), endSentence(why))
		}
	case t.SkipTenseCheck:
		fits := "already fits " + an(kindName(t.Kind))
		if tense == topic.TenseBoth {
			fits = "reads the same in both tenses and fits either kind"
		}
		l.warnf(RuleTense, t.KindLine, "topic %s: skip_tense_check is not needed: the verb %q %s; remove it", t.Name, verb, fits)
	}
}

// tenseNeed says which tense the verb of a k needs, and why.
func tenseNeed(k topic.Kind) string {
	if k == topic.KindEvent {
		return "an event says what happened, so its verb is in the past tense"
	}
	return "a command says what to do, so its verb is in the present tense"
}

// guessedFix words topic.SuggestName's guess for a verb the tense rules do
// not know as the question it is, or returns "" when there is none.
func guessedFix(t *Topic) string {
	s, ok := topic.SuggestName(t.parsed, t.Kind)
	if !ok {
		return ""
	}
	if t.Kind == topic.KindEvent {
		return fmt.Sprintf("; if %q is a verb, did you mean %s?", t.parsed.Verb, s)
	}
	return fmt.Sprintf("; if %q is a past tense, did you mean %s?", t.parsed.Verb, s)
}

// endSentence ends s with a full stop, unless it ends in a question.
func endSentence(s string) string {
	if strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}
