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
	// Header and Data are the original message as it arrived.
	Header nats.Header
	Data   []byte

	dlqStream string // the dead-letter stream it was read from
}

// deadLetterStream is the stream of this bus's namespace's dead letters.
func (b *Bus) deadLetterStream() string { return topic.DeadLetterStream(b.cfg.namespace) }

func (b *Bus) ensureDeadLetterStream(ctx context.Context) error {
	name := b.deadLetterStream()
	return b.streams.ensureWith(ctx, name, func() jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
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
	})
}

// park stores a copy of msg, with why it failed, in the dead-letter stream.
// Its Nats-Msg-Id is derived from the original's position, so parking the
// same delivery twice (a crash between park and term) stores it once.
func (b *Bus) park(ctx context.Context, header nats.Header, data []byte, d *Delivery, reason string) error {
	h := make(nats.Header, len(header)+8)
	for k, v := range header {
		if k != jetstream.MsgIDHeader && k != topic.HeaderRedeliverTo && !strings.HasPrefix(k, topic.HeaderDeadLetterPrefix) {
			h[k] = v
		}
	}
	h.Set(jetstream.MsgIDHeader, topic.DeadLetterMsgID(d.Stream, d.Consumer, d.StreamSequence))
	h.Set(topic.HeaderDeadLetterReason, oneLine(reason))
	h.Set(topic.HeaderDeadLetterConsumer, d.Consumer)
	h.Set(topic.HeaderDeadLetterSubject, d.WireSubject)
	h.Set(topic.HeaderDeadLetterStream, d.Stream)
	h.Set(topic.HeaderDeadLetterSequence, strconv.FormatUint(d.StreamSequence, 10))
	h.Set(topic.HeaderDeadLetterDeliveries, strconv.Itoa(d.Attempt))
	h.Set(topic.HeaderDeadLetterFailedAt, time.Now().UTC().Format(time.RFC3339Nano))
	out := &nats.Msg{Subject: topic.DeadLetterSubject(b.cfg.namespace, d.Stream, d.Consumer), Header: h, Data: data}
	err := b.withDeadLetterStream(ctx, func() error {
		_, err := b.js.PublishMsg(ctx, out)
		return err
	})
	if err != nil {
		return fmt.Errorf("choreo/bus: publishing dead letter: %w", err)
	}
	return nil
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
