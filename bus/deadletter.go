package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// DeadLetter is a message that its handler group gave up on, with why.
type DeadLetter struct {
	// Envelope is the original message, or nil when it was not a CloudEvent
	// (see Header and Data for what arrived).
	Envelope *envelope.Envelope
	// Subject is the original wire subject.
	Subject string
	// Consumer is the durable consumer (handler group) that gave up.
	Consumer string
	// Reason says why: the handler's error, a decoding failure, or max
	// deliveries reached without an answer (a crash or timeout).
	Reason string
	// Deliveries is how many times the message was delivered.
	Deliveries int
	// FailedAt is when it was dead-lettered.
	FailedAt time.Time

	// Stream and StreamSequence locate the original message.
	Stream         string
	StreamSequence uint64
	// Sequence is the dead letter's own position in the dead-letter stream.
	Sequence uint64
	// Reduced is empty for a dead letter parked whole. A message too large
	// to park whole (headers near the server's limit, a body near
	// max_payload) is parked reduced, and Reduced says what was cut and
	// where the original is.
	Reduced string
	// KeyContinued is true for a dead letter of an ordered subscription
	// (WithOrdered): the later messages of its ordering key, OrderKey, were
	// handled after it was dead-lettered, so redelivering it handles it out
	// of its key's order.
	KeyContinued bool
	OrderKey     string
	// Header and Data are the original message as it arrived (as parked,
	// when Reduced says it was cut).
	Header nats.Header
	Data   []byte

	dlqStream string // the dead-letter stream it was read from
}

// deadLetterStream is the stream of this bus's namespace's dead letters.
func (b *Bus) deadLetterStream() string { return topic.DeadLetterStream(b.cfg.namespace) }

func (b *Bus) ensureDeadLetterStream(ctx context.Context) error {
	return b.streams.ensureWith(ctx, b.deadLetterStream(), b.deadLetterStreamConfig)
}

// deadLetterStreamConfig is the dead-letter stream of the bus's namespace.
func (b *Bus) deadLetterStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        b.deadLetterStream(),
		Description: "choreo dead letters: messages their handlers gave up on",
		Subjects:    []string{topic.DeadLetterSubjects(b.cfg.namespace)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    b.cfg.replicas,
		MaxAge:      max(b.cfg.deadLetterAge, 0), // 0: no limit on the server
		MaxBytes:    max(b.cfg.deadLetterBytes, -1),
		Discard:     jetstream.DiscardNew, // refuse a new one; never drop an old one
		Duplicates:  b.cfg.duplicateWindow,
	}
}

// park stores a copy of msg, with why it failed, in the dead-letter stream.
// Its Nats-Msg-Id is derived from the original's position, so parking the
// same delivery twice (a crash between park and term) stores it once.
//
// A message too large to park whole (its headers near the server's 64 KiB
// header limit, or its body near max_payload, once the dead-letter headers
// are added) is parked reduced: see reduceDeadLetter. keepOriginal is true
// when the body had to be cut, so the caller must leave the original where
// it is rather than remove it.
func (b *Bus) park(ctx context.Context, header nats.Header, data []byte, d *Delivery, reason string) (keepOriginal bool, err error) {
	h := make(nats.Header, len(header)+8)
	for k, v := range header {
		if k != jetstream.MsgIDHeader && k != topic.HeaderRedeliverTo && !strings.HasPrefix(k, topic.HeaderDeadLetterPrefix) && !isScheduleHeader(k) {
			h[k] = v
		}
	}
	h.Set(jetstream.MsgIDHeader, topic.DeadLetterMsgID(d.Stream, d.Consumer, d.StreamSequence))
	h.Set(topic.HeaderDeadLetterReason, truncate(oneLine(reason), maxReasonBytes))
	h.Set(topic.HeaderDeadLetterConsumer, d.Consumer)
	h.Set(topic.HeaderDeadLetterSubject, d.WireSubject)
	h.Set(topic.HeaderDeadLetterStream, d.Stream)
	h.Set(topic.HeaderDeadLetterSequence, strconv.FormatUint(d.StreamSequence, 10))
	h.Set(topic.HeaderDeadLetterDeliveries, strconv.Itoa(d.Attempt))
	h.Set(topic.HeaderDeadLetterFailedAt, time.Now().UTC().Format(time.RFC3339Nano))
	if d.orderKey != nil {
		h.Set(topic.HeaderDeadLetterKeyContinued, truncate(oneLine(*d.orderKey), maxOrderKeyBytes))
	}
	out := &nats.Msg{Subject: topic.DeadLetterSubject(b.cfg.namespace, d.Stream, d.Consumer), Header: h, Data: data}
	publish := func() error {
		return b.withDeadLetterStream(ctx, func() error {
			_, err := b.js.PublishMsg(ctx, out)
			return err
		})
	}
	err = publish()
	if tooLarge(err) {
		keepOriginal = reduceDeadLetter(out, b.nc.MaxPayload(), d)
		err = publish()
	}
	if err != nil {
		return false, fmt.Errorf("choreo/bus: publishing dead letter: %w", err)
	}
	return keepOriginal, nil
}

// bodyCutNote marks, in Choreo-Dlq-Reduced, a dead letter whose body was
// cut: Redeliver refuses it (the original is where the note says).
const bodyCutNote = "body cut"

// Bounds of a reduced dead letter's headers: what is kept of the original
// headers in all, and of one value.
const (
	maxReasonBytes       = 4 << 10
	reducedHeaderBudget  = 16 << 10
	reducedValueMaxBytes = 1 << 10
)

// tooLarge reports whether a publish failed because the message is larger
// than the server takes: the client's max_payload check, or the stream's
// message or header size limit.
func tooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeMessageTooLarge || apiErr.ErrorCode == errCodeHeaderTooLarge)
}

// reduceDeadLetter shrinks a dead letter that was too large to park: it
// keeps the choreo headers and the CloudEvents attributes (each value cut
// to 1 KiB, 16 KiB in all), drops other headers, and cuts the body only if
// it alone leaves no room. The Choreo-Dlq-Reduced header says what was cut
// and where the original is. It reports whether the body was cut.
func reduceDeadLetter(out *nats.Msg, maxPayload int64, d *Delivery) (bodyCut bool) {
	h := nats.Header{}
	var notes []string
	kept, dropped, cut := 0, 0, 0
	for k, vs := range out.Header {
		if strings.HasPrefix(k, topic.HeaderDeadLetterPrefix) || k == jetstream.MsgIDHeader {
			h[k] = vs
			continue
		}
		if len(vs) == 0 || !hasPrefixFold(k, "ce-") {
			dropped++
			continue
		}
		v := truncate(vs[0], reducedValueMaxBytes)
		if kept+len(k)+len(v) > reducedHeaderBudget {
			dropped++
			continue
		}
		if len(v) < len(vs[0]) {
			cut++
		}
		kept += len(k) + len(v)
		h[k] = []string{v}
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d headers dropped", dropped))
	}
	if cut > 0 {
		notes = append(notes, fmt.Sprintf("%d values cut to %d bytes", cut, reducedValueMaxBytes))
	}
	room := int(maxPayload) - headerSize(h) - 512 // the Reduced header itself
	if len(out.Data) > room {
		notes = append(notes, fmt.Sprintf("%s from %d to %d bytes", bodyCutNote, len(out.Data), max(room, 0)))
		out.Data = out.Data[:max(room, 0)]
		bodyCut = true
	}
	notes = append(notes, fmt.Sprintf("the original is in stream %s at sequence %d", d.Stream, d.StreamSequence))
	h.Set(topic.HeaderDeadLetterReduced, "too large to park whole: "+strings.Join(notes, "; "))
	out.Header = h
	return bodyCut
}

// headerSize is about what h takes on the wire.
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// withDeadLetterStream runs op with the dead-letter stream provisioned; if
// op finds the stream gone (deleted by an operator), it provisions it again
// and retries once.
func (b *Bus) withDeadLetterStream(ctx context.Context, op func() error) error {
	if err := b.ensureDeadLetterStream(ctx); err != nil {
		return err
	}
	err := op()
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		b.streams.forgetStream(b.deadLetterStream())
		if err = b.ensureDeadLetterStream(ctx); err == nil {
			err = op()
		}
	}
	return err
}

// oneLine keeps a header value on one line: NATS headers cannot hold CR or LF.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " | ", "\n", " | ", "\r", " ").Replace(s)
}
