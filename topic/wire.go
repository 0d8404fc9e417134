package topic

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Every name choreo uses on the wire lives here and nowhere else: the
// mapping from topics to NATS subjects, JetStream streams and consumers,
// the dead-letter and advisory streams, and the headers choreo adds (the
// CloudEvents ce-* headers belong to the CloudEvents NATS binding and live
// in package envelope). docs/wire.md specifies them for other languages.
//
//	subject          [<ns>.]cmd.v1.user.signup    [<ns>.]evt.v1.user.signedup
//	stream           [<ns_>]CMD_user               [<ns_>]EVT_user
//	stream subjects  [<ns>.]cmd.*.user.>           [<ns>.]evt.*.user.>
//
// One stream per namespace, kind and entity covers every version, so v1 and
// v2 of a topic share a stream and a new version needs no stream change.
// The kind segment keeps commands and events apart by wildcard.

// ErrInvalidNamespace is matched (errors.Is) by ValidateNamespace's errors.
var ErrInvalidNamespace = errors.New("choreo/topic: invalid namespace")

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

// ParseStream is Stream's inverse: it reports the kind and entity of a
// topic stream of namespace ns, or ok false when the name is not one
// Stream(ns, ...) could have produced (another namespace's stream, the
// dead letters, a stream choreo did not make). Safe for concurrent use.
func ParseStream(ns, stream string) (k Kind, entity string, ok bool) {
	rest := stream
	if ns != "" {
		prefix := strings.ReplaceAll(ns, ".", "_") + "_"
		if rest, ok = strings.CutPrefix(stream, prefix); !ok {
			return 0, "", false
		}
	}
	kind, entity, found := strings.Cut(rest, "_")
	switch {
	case !found || checkSegment(entity).what != "":
		return 0, "", false
	case kind == "CMD":
		return KindCommand, entity, true
	case kind == "EVT":
		return KindEvent, entity, true
	}
	return 0, "", false
}

// ConsumerName is the durable JetStream consumer of a subscriber group (or
// of the handling service, for a command) on one topic: group "email" on
// v1.user.signedup is "email__v1_user_signedup". group must be a valid
// group name (letters, digits, '-' and '_') and n a valid name.
func ConsumerName(group string, n Name) string {
	return group + "__" + strings.ReplaceAll(n.String(), ".", "_")
}

// DeadLetterStream is the stream holding a namespace's dead letters: "DLQ",
// or "prod_eu_DLQ" for namespace "prod.eu". Its subjects are
// DeadLetterSubjects(ns).
func DeadLetterStream(ns string) string {
	if ns == "" {
		return "DLQ"
	}
	return strings.ReplaceAll(ns, ".", "_") + "_DLQ"
}

// DeadLetterSubjects is the subject filter of DeadLetterStream(ns):
// "[ns.]dlq.>".
func DeadLetterSubjects(ns string) string { return nsPrefix(ns) + deadLetterToken + ".>" }

// DeadLetterSubject is where the dead letters of one consumer of one
// stream are published: "[ns.]dlq.<stream>.<consumer>", so a consumer's
// dead letters can be read (and permitted) on their own.
func DeadLetterSubject(ns, stream, consumer string) string {
	return nsPrefix(ns) + deadLetterToken + "." + stream + "." + consumer
}

// DeadLetterMsgID is the Nats-Msg-Id of a dead letter: derived from the
// original's place, so parking the same delivery twice (a crash between
// parking and terminating) stores it once.
func DeadLetterMsgID(stream, consumer string, seq uint64) string {
	return "dlq:" + stream + ":" + consumer + ":" + strconv.FormatUint(seq, 10)
}

// RedeliveryMsgID is the Nats-Msg-Id of a redelivered dead letter: derived
// from the dead letter's place, so redelivering it twice within the
// duplicate window delivers it once.
func RedeliveryMsgID(deadLetterStream string, seq uint64) string {
	return "redeliver:" + deadLetterStream + ":" + strconv.FormatUint(seq, 10)
}

// The advisory capture: the server announces a message it stopped
// delivering after max deliveries on AdvisorySubject(stream); each topic
// stream with subscribers has a capture stream of its own,
// AdvisoryStream(stream), from which each group reads its own consumer's
// advisories through the durable AdvisoryConsumer(consumer), and its
// service turns each into a dead letter. One capture per topic
// stream keeps namespaces apart (subject wildcards match whole tokens
// only, so no single pattern selects one namespace's streams) and never
// needs a stream update.

// AdvisoryStream is the stream capturing the max-deliveries advisories of
// one topic stream's consumers: "EVT_user_MAXDELIVERIES",
// "prod_eu_CMD_user_MAXDELIVERIES". ParseStream does not take it for a
// topic stream.
func AdvisoryStream(stream string) string { return stream + "_MAXDELIVERIES" }

// AdvisorySubject is the subject of the server's max-deliveries advisories
// for every consumer of one stream.
func AdvisorySubject(stream string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + ".*"
}

// PauseAdvisorySubject is where the server announces that a consumer was
// paused or resumed (JetStream consumer pause, which the circuit breaker
// of a subscription uses); every instance of the group listens to it.
func PauseAdvisorySubject(stream, consumer string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.PAUSE." + stream + "." + consumer
}

// AdvisoryConsumer is the durable consumer through which the group behind
// consumer (a ConsumerName) reads its own advisories from the
// AdvisoryStream of its topic stream: the same name, on the capture stream,
// filtered on AdvisoryConsumerSubject. One converter per group, rather
// than one per stream, lets every service park the dead letters of its
// own consumers only, so it needs no right to write another group's.
func AdvisoryConsumer(consumer string) string { return consumer }

// AdvisoryConsumerSubject is the subject of the server's max-deliveries
// advisories for one consumer of one stream: the filter of
// AdvisoryConsumer(consumer).
func AdvisoryConsumerSubject(stream, consumer string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer
}

// InboxPrefix is the reply-subject prefix of service's connections in
// namespace ns (nats.CustomInboxPrefix): "_INBOX_email", or
// "_INBOX_prod_eu__email" in namespace "prod.eu". With a prefix of its own
// a service may be allowed to subscribe to its own replies only
// ("_INBOX_email.>"), instead of to every client's under "_INBOX.>". A
// namespace never contains "__" and a service name neither, so the first
// "__" separates them and no two inputs give the same prefix. service must
// pass ValidateGroup and ns ValidateNamespace.
func InboxPrefix(ns, service string) string {
	if ns == "" {
		return "_INBOX_" + service
	}
	return "_INBOX_" + strings.ReplaceAll(ns, ".", "_") + "__" + service
}

// InboxBucket is the JetStream key-value bucket holding the idempotency
// inbox of service in namespace ns (a catalog service with "inbox: true"):
// "email_inbox", or "prod_eu__email_inbox". Its stream is "KV_" + the
// bucket and its subjects "$KV.<bucket>.>".
func InboxBucket(ns, service string) string {
	if ns == "" {
		return service + "_inbox"
	}
	return strings.ReplaceAll(ns, ".", "_") + "__" + service + "_inbox"
}

// Headers choreo adds on the wire besides the CloudEvents ones (package
// envelope) and Nats-Msg-Id.
const (
	// HeaderDeadLetterPrefix starts every header a dead letter carries
	// about its failure; a redelivered copy drops them all.
	HeaderDeadLetterPrefix = "Choreo-Dlq-"
	// HeaderDeadLetterReason says why the handler group gave up.
	HeaderDeadLetterReason = HeaderDeadLetterPrefix + "Reason"
	// HeaderDeadLetterConsumer names the consumer (group) that gave up.
	HeaderDeadLetterConsumer = HeaderDeadLetterPrefix + "Consumer"
	// HeaderDeadLetterSubject is the original wire subject.
	HeaderDeadLetterSubject = HeaderDeadLetterPrefix + "Subject"
	// HeaderDeadLetterStream and HeaderDeadLetterSequence locate the
	// original message (decimal sequence).
	HeaderDeadLetterStream   = HeaderDeadLetterPrefix + "Stream"
	HeaderDeadLetterSequence = HeaderDeadLetterPrefix + "Sequence"
	// HeaderDeadLetterDeliveries is how many times it was delivered
	// (decimal).
	HeaderDeadLetterDeliveries = HeaderDeadLetterPrefix + "Deliveries"
	// HeaderDeadLetterFailedAt is when it was dead-lettered (RFC 3339, UTC).
	HeaderDeadLetterFailedAt = HeaderDeadLetterPrefix + "Failed-At"
	// HeaderDeadLetterReduced is set on a dead letter that was too large to
	// park whole: it says what was cut (headers, body) and where the
	// original is.
	HeaderDeadLetterReduced = HeaderDeadLetterPrefix + "Reduced"
	// HeaderDeadLetterKeyContinued is set on a dead letter of an ordered
	// subscription (WithOrdered): its value is the ordering key, and it
	// says that the messages of that key published after this one were
	// handled after it was dead-lettered, so redelivering it now handles it
	// out of its key's order.
	HeaderDeadLetterKeyContinued = HeaderDeadLetterPrefix + "Key-Continued"
	// HeaderRedeliverTo marks a redelivered dead letter with the one
	// consumer that should handle it; every other group of the topic
	// acknowledges it unseen. Routing by header rather than by a subject of
	// its own keeps each consumer on a single filter subject, which the
	// server serves much more cheaply than a list of them.
	HeaderRedeliverTo = "Choreo-Redeliver-To"
)

// OrderedPriorityGroup is the JetStream priority group of the consumers of
// ordered subscriptions (WithOrdered): they use the pinned-client policy,
// and every pull request names this group.
const OrderedPriorityGroup = "choreo-ordered"

// nsPrefix is "" or the namespace followed by a dot.
func nsPrefix(ns string) string {
	if ns == "" {
		return ""
	}
	return ns + "."
}

// MaxGroupLen is the longest subscriber group (or service source) name, in
// bytes: with MaxNameLen it keeps every consumer name within JetStream's
// limits.
const MaxGroupLen = 64

// ErrInvalidGroup is matched (errors.Is) by ValidateGroup's errors.
var ErrInvalidGroup = errors.New("choreo/topic: invalid group or service name")

// ValidateGroup checks a subscriber group or service name, which becomes
// the first part of consumer names: 1 to MaxGroupLen ASCII letters, digits,
// '-' and '_', neither starting nor ending with '_' and without "__" (the
// separator of ConsumerName, which must split back unambiguously: group
// "email_" would make "email___v1_..." look like a consumer of "email").
// Safe for concurrent use.
func ValidateGroup(g string) error {
	const rule = "use 1 to 64 ASCII letters, digits, '-' and '_' (no \"__\", no '_' at either end), e.g. \"email\""
	switch {
	case g == "":
		return fmt.Errorf("%w: the name is empty; %s", ErrInvalidGroup, rule)
	case len(g) > MaxGroupLen:
		return fmt.Errorf("%w %s: it is %d bytes long, the limit is %d; %s", ErrInvalidGroup, quote(g[:16]+"..."), len(g), MaxGroupLen, rule)
	case GroupName(g) != g:
		return fmt.Errorf("%w %s: %s", ErrInvalidGroup, quote(g), rule)
	}
	return nil
}

// GroupName turns any text (an executable's name, a test's name) into a
// valid group name: other characters become '-', "__" runs become one '_',
// '_' at either end is dropped, and a name longer than MaxGroupLen is cut
// and given a hash of the whole, so different long inputs stay different.
// An empty result is "choreo".
func GroupName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '_':
			if len(b) == 0 || b[len(b)-1] == '_' {
				continue
			}
		default:
			c = '-'
		}
		b = append(b, c)
	}
	for len(b) > 0 && b[len(b)-1] == '_' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "choreo"
	}
	if len(b) > MaxGroupLen {
		h := uint32(2166136261) // FNV-1a of the whole input
		for i := 0; i < len(s); i++ {
			h = (h ^ uint32(s[i])) * 16777619
		}
		b = strconv.AppendUint(append(b[:MaxGroupLen-9], '-'), uint64(h), 16)
	}
	return string(b)
}
