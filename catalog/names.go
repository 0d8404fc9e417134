package catalog

import (
	"go/token"
	"strconv"
	"strings"
	"unicode"

	"github.com/choreo-bus/choreo/topic"
)

// initialisms are the words Go spells in one case throughout (UserID, not
// UserId), following the Go code review conventions.
var initialisms = map[string]bool{
	"acl": true, "api": true, "ascii": true, "cpu": true, "css": true, "dns": true,
	"eof": true, "guid": true, "html": true, "http": true, "https": true, "id": true,
	"ip": true, "json": true, "jwt": true, "lhs": true, "os": true, "qps": true,
	"ram": true, "rhs": true, "rpc": true, "sla": true, "smtp": true, "sql": true,
	"ssh": true, "tcp": true, "tls": true, "ttl": true, "udp": true, "ui": true,
	"uid": true, "uri": true, "url": true, "utf8": true, "uuid": true, "vm": true,
	"xml": true, "xmpp": true, "xsrf": true, "xss": true,
}

// splitWords splits a key such as "user_id", "signed-up-at", "userID" or
// "HTTPStatus" into its words.
func splitWords(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	runes := []rune(s)
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && len(cur) > 0:
			prev := runes[i-1]
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			// Split "userId" before I, and "HTTPStatus" before S.
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// camel joins words into an exported Go name, spelling initialisms in
// capitals: ["user", "id"] -> "UserID".
func camel(words []string) string {
	var b strings.Builder
	for _, w := range words {
		lw := strings.ToLower(w)
		if initialisms[lw] {
			b.WriteString(strings.ToUpper(lw))
			continue
		}
		r := []rune(w)
		b.WriteString(strings.ToUpper(string(r[0])))
		b.WriteString(string(r[1:]))
	}
	return b.String()
}

// goFieldName returns the exported Go name for a payload field key, or ""
// when the key is not a plain name: a letter, then letters, digits, _ or -.
func goFieldName(key string) string {
	for i, r := range key {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter || !letter && !(r >= '0' && r <= '9') && r != '_' && r != '-' {
			return ""
		}
	}
	name := camel(splitWords(key))
	if name == "" || !token.IsIdentifier(name) || !token.IsExported(name) {
		return ""
	}
	return name
}

// topicBase returns the word part of a topic's Go names: entity,
// qualifiers and verb as words, then the version ("v1.order.item.added" ->
// "OrderItemAddedV1").
func (t *Topic) topicBase() string {
	n := t.parsed
	var words []string
	words = append(words, splitWords(n.Entity)...)
	for _, q := range n.Qualifiers {
		words = append(words, splitWords(q)...)
	}
	words = append(words, splitWords(n.Verb)...)
	return camel(words) + "V" + strconv.Itoa(n.Version)
}

// ConstName is the name of the generated string constant holding the topic
// name, e.g. TopicUserSignupV1. Valid only for topics whose name parses.
func (t *Topic) ConstName() string { return "Topic" + t.topicBase() }

// StructName is the name of the generated payload struct, e.g.
// UserSignupV1. Valid only for topics whose name parses.
func (t *Topic) StructName() string { return t.topicBase() }

// VarName is the name of the generated typed topic variable:
// UserSignupV1Command for commands and UserSignedupV1Event for events.
// Valid only for topics whose name parses and whose kind is known.
func (t *Topic) VarName() string {
	return t.topicBase() + kindWord(t.Kind)
}

// kindWord returns "Command" or "Event".
func kindWord(k topic.Kind) string {
	switch k {
	case topic.KindCommand:
		return "Command"
	case topic.KindEvent:
		return "Event"
	default:
		return ""
	}
}

// kindName returns "command" or "event", the catalog's spelling.
func kindName(k topic.Kind) string { return strings.ToLower(kindWord(k)) }
