package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// ErrForeignDeadLetter is returned (wrapped) by Redeliver when a dead
// letter does not describe a message choreo could have parked: its subject
// is not a topic subject of the stream it names, or its consumer does not
// read that subject. Anyone allowed to park dead letters can write one, so
// Redeliver trusts none of its fields; such a dead letter stays where it is
// for an operator to inspect and delete.
var ErrForeignDeadLetter = errors.New("choreo/bus: dead letter does not name a topic of its stream")

// Redeliver puts a dead letter back in front of the handler group that gave
// up on it (and no other group), with a new Nats-Msg-Id and the same ce-id,
// and then removes it from the dead-letter stream. Redelivering the same
// dead letter twice within the duplicate window delivers it once.
//
// The copy is stored on the topic's own subject with a Choreo-Redeliver-To
// header naming the group's consumer; the topic's other groups receive it
// too and acknowledge it without calling their handlers.
//
// Redeliver only ever publishes to a topic subject of the bus's namespace
// that belongs to the stream the dead letter names and that its consumer
// reads; anything else is refused with ErrForeignDeadLetter.
func (b *Bus) Redeliver(ctx context.Context, dl DeadLetter) error {
	if err := b.enterBeforeClose(); err != nil {
		return err
	}
	defer b.leave()
	if err := b.checkOwnDeadLetter(dl); err != nil {
		return err
	}
	if err := b.checkRedeliveryTarget(ctx, dl); err != nil {
		return err
	}
	if strings.Contains(dl.Reduced, bodyCutNote) {
		return fmt.Errorf("%w: dead letter %d was parked with its body cut (%s); redelivering it would deliver a broken message. Handle the original instead",
			ErrInvalidOption, dl.Sequence, dl.Reduced)
	}
	h := make(nats.Header, len(dl.Header)+1)
	for k, v := range dl.Header {
		h[k] = v
	}
	h.Set(jetstream.MsgIDHeader, topic.RedeliveryMsgID(b.deadLetterStream(), dl.Sequence))
	h.Set(topic.HeaderRedeliverTo, dl.Consumer)
	msg := &nats.Msg{Subject: dl.Subject, Header: h, Data: dl.Data}
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("choreo/bus: redelivering dead letter %d: %w", dl.Sequence, err)
	}
	if err := b.deleteDeadLetter(ctx, dl.Sequence); err != nil {
		return fmt.Errorf("choreo/bus: redelivered dead letter %d but could not remove it (calling Redeliver again is safe): %w", dl.Sequence, err)
	}
	return nil
}

// checkOwnDeadLetter checks that dl came from DeadLetters on a bus of this
// namespace.
func (b *Bus) checkOwnDeadLetter(dl DeadLetter) error {
	if dl.Sequence == 0 || dl.dlqStream == "" {
		return fmt.Errorf("%w: dead letter without its place in the dead-letter stream; pass one returned by DeadLetters", ErrInvalidOption)
	}
	if dl.dlqStream != b.deadLetterStream() {
		return fmt.Errorf("%w: dead letter %d belongs to %s, this bus's dead letters are in %s; use the bus it came from",
			ErrInvalidOption, dl.Sequence, dl.dlqStream, b.deadLetterStream())
	}
	return nil
}

// checkRedeliveryTarget verifies, against the topic rules and the server,
// that the dead letter's subject is a topic subject of its stream and that
// its consumer exists there and reads that subject.
func (b *Bus) checkRedeliveryTarget(ctx context.Context, dl DeadLetter) error {
	ns := b.cfg.namespace
	refuse := func(why string, args ...any) error {
		return fmt.Errorf("%w: dead letter %d (subject %q, stream %q, consumer %q): %s; it stays a dead letter",
			ErrForeignDeadLetter, dl.Sequence, dl.Subject, dl.Stream, dl.Consumer, fmt.Sprintf(why, args...))
	}
	kind, name, err := topic.ParseSubject(ns, dl.Subject)
	if err != nil {
		return refuse("the subject is not a topic subject of namespace %q", ns)
	}
	if want := topic.Stream(ns, kind, name.Entity); dl.Stream != want {
		return refuse("the subject belongs to stream %s", want)
	}
	if !validConsumerName(dl.Consumer) {
		return refuse("the consumer is not a valid consumer name")
	}
	c, err := b.js.Consumer(ctx, dl.Stream, dl.Consumer)
	if err != nil {
		return fmt.Errorf("choreo/bus: redelivering dead letter %d: its consumer %s on %s is not there (%w); nothing would read it, so it stays a dead letter",
			dl.Sequence, dl.Consumer, dl.Stream, err)
	}
	if f := c.CachedInfo().Config.FilterSubject; f != dl.Subject {
		return refuse("consumer %s reads %q, not this subject", dl.Consumer, f)
	}
	return nil
}
