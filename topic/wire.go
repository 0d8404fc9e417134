package topic

import (
	"errors"
	"fmt"
	"strings"
)

// The mapping from topics to NATS subjects and JetStream streams lives here
// and nowhere else (DESIGN.md, "Wire format"):
//
//	subject          [<ns>.]cmd.v1.user.signup    [<ns>.]evt.v1.user.signedup
//	stream           [<ns_>]CMD_user               [<ns_>]EVT_user
//	stream subjects  [<ns>.]cmd.*.user.>           [<ns>.]evt.*.user.>
//
// One stream per namespace, kind and entity covers every version, so v1 and
// v2 of a topic share a stream and a new version needs no stream change.
// The kind segment keeps commands and events apart by wildcard.

// ErrInvalidNamespace is matched (errors.Is) by ValidateNamespace's errors.
var ErrInvalidNamespace = errors.New("topic: invalid namespace")

// MaxNamespaceLen is the longest namespace ValidateNamespace accepts, in
// bytes. With MaxNameLen it bounds a wire subject to 197 bytes and a stream
// name to well under JetStream's 255.
const MaxNamespaceLen = 64

const (
	commandToken = "cmd"
	eventToken   = "evt"
	// deadLetterToken is where the bus keeps dead letters ("[ns.]dlq.>");
	// reserved so a namespace never overlaps them.
	deadLetterToken = "dlq"
)

// ValidateNamespace checks a namespace, the prefix that keeps environments
// or tenants apart on one NATS system. "" is valid and means no prefix.
// Otherwise it is one or more dot-separated segments of lowercase ASCII
// letters and digits, each starting with a letter ("prod", "prod.eu",
// "tenant42"), at most MaxNamespaceLen bytes. No segment may be "cmd",
// "evt" or "dlq" (the bus's dead letters): with that rule no namespace's streams can overlap another's, so
// JetStream never refuses a stream for overlapping subjects. Errors match
// ErrInvalidNamespace. Safe for concurrent use.
func ValidateNamespace(ns string) error {
	if ns == "" {
		return nil
	}
	const rule = "a namespace is dot-separated segments of lowercase ASCII letters and digits, each starting with a letter, e.g. prod or prod.eu"
	if len(ns) > MaxNamespaceLen {
		return fmt.Errorf("%w %s: it is %d bytes long, the limit is %d", ErrInvalidNamespace, quote(ns), len(ns), MaxNamespaceLen)
	}
	i := 0
	for seg := range strings.SplitSeq(ns, ".") {
		i++
		p := checkSegment(seg)
		if p.what == "" && (seg == commandToken || seg == eventToken || seg == deadLetterToken) {
			p.what = "is reserved: cmd, evt and dlq mark the kind in wire subjects"
		}
		if p.what != "" {
			return fmt.Errorf("%w %s: segment %d %s %s; %s", ErrInvalidNamespace, quote(ns), i, quote(seg), p.what, rule)
		}
	}
	return nil
}

// token is the kind's segment in wire subjects. Subject, Stream and
// StreamSubjects take a Kind from their caller's Command or Event, so any
// other value is a programming error and panics.
func (k Kind) token() string {
	switch k {
	case KindCommand:
		return commandToken
	case KindEvent:
		return eventToken
	}
	panic("topic: " + k.String() + " is not a kind; use topic.KindCommand or topic.KindEvent")
}

// Subject returns the NATS subject a topic travels on:
// "[ns.]cmd.v1.user.signup" for a command, "[ns.]evt.v1.user.signedup" for
// an event. ns must have passed ValidateNamespace and n must be a valid
// name (from Parse, a Command or an Event); Subject does not check them. It
// panics if k is neither KindCommand nor KindEvent. It allocates once and is
// safe for concurrent use.
func Subject(ns string, k Kind, n Name) string {
	tok, name := k.token(), n.String()
	if ns == "" {
		return tok + "." + name
	}
	return ns + "." + tok + "." + name
}

// Stream returns the name of the JetStream stream holding a kind's topics
// for one entity: "CMD_user" or "EVT_user". A namespace becomes a prefix
// with its dots turned into underscores: ns "prod.eu" gives
// "prod_eu_CMD_user". Names, namespaces and entities never contain '_',
// so two different inputs never give the same stream. Same preconditions
// and panic as Subject; safe for concurrent use.
func Stream(ns string, k Kind, entity string) string {
	kind := "CMD"
	if k.token() == eventToken {
		kind = "EVT"
	}
	var b strings.Builder
	b.Grow(len(ns) + 1 + len(kind) + 1 + len(entity))
	for i := range len(ns) {
		if ns[i] == '.' {
			b.WriteByte('_')
		} else {
			b.WriteByte(ns[i])
		}
	}
	if ns != "" {
		b.WriteByte('_')
	}
	b.WriteString(kind)
	b.WriteByte('_')
	b.WriteString(entity)
	return b.String()
}

// StreamSubjects returns the subject filter of Stream(ns, k, entity):
// "[ns.]cmd.*.user.>", every version and every topic of the entity. Same
// preconditions and panic as Subject; safe for concurrent use.
func StreamSubjects(ns string, k Kind, entity string) string {
	tok := k.token()
	if ns == "" {
		return tok + ".*." + entity + ".>"
	}
	return ns + "." + tok + ".*." + entity + ".>"
}

// ParseSubject is Subject's inverse: it splits a wire subject of namespace
// ns into the topic's kind and name, for code that only has a subject in
// hand (dead letters, tools). The error matches ErrInvalidName when the
// subject is not one Subject(ns, ...) could have produced. Safe for
// concurrent use.
func ParseSubject(ns, subject string) (Kind, Name, error) {
	rest := subject
	if ns != "" {
		var ok bool
		if rest, ok = strings.CutPrefix(subject, ns+"."); !ok {
			return 0, Name{}, fmt.Errorf("%w: subject %s is not in namespace %q", ErrInvalidName, quote(subject), ns)
		}
	}
	tok, name, _ := strings.Cut(rest, ".")
	var k Kind
	switch tok {
	case commandToken:
		k = KindCommand
	case eventToken:
		k = KindEvent
	default:
		return 0, Name{}, fmt.Errorf("%w: subject %s has no cmd or evt segment after the namespace %q", ErrInvalidName, quote(subject), ns)
	}
	n, err := Parse(name)
	if err != nil {
		return 0, Name{}, fmt.Errorf("subject %s: %w", quote(subject), err)
	}
	return k, n, nil
}
