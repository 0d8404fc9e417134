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
)

// Headers the bus adds to a dead letter, next to the original message's.
const (
	hdrReason     = "Choreo-Dlq-Reason"
	hdrConsumer   = "Choreo-Dlq-Consumer"
	hdrSubject    = "Choreo-Dlq-Subject"
	hdrStream     = "Choreo-Dlq-Stream"
	hdrSequence   = "Choreo-Dlq-Sequence"
	hdrDeliveries = "Choreo-Dlq-Deliveries"
	hdrFailedAt   = "Choreo-Dlq-Failed-At"

	// hdrRedeliverTo marks a redelivered dead letter with the one consumer
	// that should handle it; every other group of the topic acks it unseen.
	// Routing by header rather than by a subject of its own keeps each
	// consumer on a single filter subject, which the server serves much
	// more cheaply than a list of them.
	hdrRedeliverTo = "Choreo-Redeliver-To"
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

// deadLetterStream and deadLetterSubject name where a namespace's dead
// letters live: "DLQ" over "dlq.>", or "prod_DLQ" over "prod.dlq.>".
func (b *Bus) deadLetterStream() string {
	if b.cfg.namespace == "" {
		return "DLQ"
	}
	return strings.ReplaceAll(b.cfg.namespace, ".", "_") + "_DLQ"
}

func (b *Bus) deadLetterSubject(stream, consumer string) string {
	return b.namespacePrefix() + "dlq." + stream + "." + consumer
}

// namespacePrefix is "" or the namespace followed by a dot.
func (b *Bus) namespacePrefix() string {
	if b.cfg.namespace == "" {
		return ""
	}
	return b.cfg.namespace + "."
}

func (b *Bus) ensureDeadLetterStream(ctx context.Context) error {
	name := b.deadLetterStream()
	return b.streams.ensureWith(ctx, name, func() jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: "choreo dead letters: messages their handlers gave up on",
			Subjects:    []string{b.namespacePrefix() + "dlq.>"},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    b.cfg.replicas,
			MaxAge:      b.cfg.deadLetterAge,
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
		if k != jetstream.MsgIDHeader && k != hdrRedeliverTo && !strings.HasPrefix(k, "Choreo-Dlq-") {
			h[k] = v
		}
	}
	subject := topicSubject(d.Subject) // a message an older choreo redelivered
	h.Set(jetstream.MsgIDHeader, "dlq:"+d.Stream+":"+d.Consumer+":"+strconv.FormatUint(d.StreamSequence, 10))
	h.Set(hdrReason, oneLine(reason))
	h.Set(hdrConsumer, d.Consumer)
	h.Set(hdrSubject, subject)
	h.Set(hdrStream, d.Stream)
	h.Set(hdrSequence, strconv.FormatUint(d.StreamSequence, 10))
	h.Set(hdrDeliveries, strconv.Itoa(d.Attempt))
	h.Set(hdrFailedAt, time.Now().UTC().Format(time.RFC3339Nano))
	out := &nats.Msg{Subject: b.deadLetterSubject(d.Stream, d.Consumer), Header: h, Data: data}
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

// DeadLetters lists the dead letters of the bus's namespace, oldest first.
// It reads them through a short-lived consumer that it deletes again.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	if err := b.enterBeforeClose(); err != nil {
		return nil, err
	}
	defer b.leave()
	var out []DeadLetter
	err := b.withDeadLetterStream(ctx, func() error {
		var err error
		out, err = b.readDeadLetters(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("choreo/bus: reading dead letters: %w", err)
	}
	return out, nil
}

func (b *Bus) readDeadLetters(ctx context.Context) ([]DeadLetter, error) {
	name := b.deadLetterStream()
	stream, err := b.js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	if stream.CachedInfo().State.Msgs == 0 {
		return nil, nil
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute, // cleans up if this process dies mid-read
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		// A fresh context: the read's ctx may be what ended it.
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	var out []DeadLetter
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return out, err
		}
		pending, n := uint64(0), 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			pending = meta.NumPending
			out = append(out, decodeDeadLetter(m, meta.Sequence.Stream, name))
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return out, err
		}
		if pending == 0 || n == 0 {
			return out, nil
		}
	}
}

func decodeDeadLetter(m jetstream.Msg, seq uint64, dlqStream string) DeadLetter {
	h := m.Headers()
	dl := DeadLetter{
		dlqStream: dlqStream,
		Subject:   h.Get(hdrSubject),
		Consumer:  h.Get(hdrConsumer),
		Reason:    h.Get(hdrReason),
		Stream:    h.Get(hdrStream),
		Sequence:  seq,
		Header:    nats.Header{},
		Data:      m.Data(),
	}
	dl.Deliveries, _ = strconv.Atoi(h.Get(hdrDeliveries))
	dl.StreamSequence, _ = strconv.ParseUint(h.Get(hdrSequence), 10, 64)
	dl.FailedAt, _ = time.Parse(time.RFC3339Nano, h.Get(hdrFailedAt))
	for k, v := range h {
		if k != jetstream.MsgIDHeader && !strings.HasPrefix(k, "Choreo-Dlq-") {
			dl.Header[k] = v
		}
	}
	if env, err := envelope.Read(dl.Header, dl.Data); err == nil {
		dl.Envelope = env
	}
	return dl
}

// Redeliver puts a dead letter back in front of the handler group that gave
// up on it (and no other group), with a new Nats-Msg-Id and the same ce-id,
// and then removes it from the dead-letter stream. Redelivering the same
// dead letter twice within the duplicate window delivers it once.
//
// The copy is stored on the topic's own subject with a Choreo-Redeliver-To
// header naming the group's consumer; the topic's other groups receive it
// too and acknowledge it without calling their handlers.
func (b *Bus) Redeliver(ctx context.Context, dl DeadLetter) error {
	if err := b.enterBeforeClose(); err != nil {
		return err
	}
	defer b.leave()
	if dl.Subject == "" || dl.Consumer == "" || dl.Sequence == 0 || dl.dlqStream == "" {
		return fmt.Errorf("%w: dead letter without subject, consumer or sequence; pass one returned by DeadLetters", ErrInvalidOption)
	}
	if dl.dlqStream != b.deadLetterStream() {
		return fmt.Errorf("%w: dead letter %d belongs to %s, this bus's dead letters are in %s; redeliver it with the bus it came from",
			ErrInvalidOption, dl.Sequence, dl.dlqStream, b.deadLetterStream())
	}
	if _, err := b.js.Consumer(ctx, dl.Stream, dl.Consumer); err != nil {
		return fmt.Errorf("choreo/bus: redelivering dead letter %d: its consumer %s on %s is not there (%w); nothing would read it, so it stays a dead letter",
			dl.Sequence, dl.Consumer, dl.Stream, err)
	}
	h := make(nats.Header, len(dl.Header)+1)
	for k, v := range dl.Header {
		h[k] = v
	}
	h.Set(jetstream.MsgIDHeader, "redeliver:"+b.deadLetterStream()+":"+strconv.FormatUint(dl.Sequence, 10))
	h.Set(hdrRedeliverTo, dl.Consumer)
	msg := &nats.Msg{Subject: dl.Subject, Header: h, Data: dl.Data}
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("choreo/bus: redelivering dead letter %d: %w", dl.Sequence, err)
	}
	stream, err := b.js.Stream(ctx, b.deadLetterStream())
	if err == nil {
		err = stream.DeleteMsg(ctx, dl.Sequence)
	}
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("choreo/bus: redelivered dead letter %d but could not remove it (calling Redeliver again is safe): %w", dl.Sequence, err)
	}
	return nil
}

// oneLine keeps a header value on one line: NATS headers cannot hold CR or LF.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " | ", "\n", " | ", "\r", " ").Replace(s)
}
