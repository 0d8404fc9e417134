package bus

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// DeadLetterFilter selects dead letters for DeadLetters and
// PurgeDeadLetters. The zero value selects every dead letter of the bus's
// namespace; each field set narrows the selection further.
type DeadLetterFilter struct {
	// Group keeps the dead letters of one subscriber group, or of one
	// service's command handlers (its WithSource name), on every topic.
	Group string
	// Consumer keeps the dead letters of one durable consumer (a group on
	// one topic, as DeadLetter.Consumer names it).
	Consumer string
	// Topic keeps the dead letters of one topic, e.g. "v1.user.signup".
	Topic string
	// Since keeps dead letters parked at or after this time.
	Since time.Time
	// Limit stops after this many dead letters; 0 means no limit.
	Limit int
}

// deadLetterBatch is how many dead letters are held in memory at once
// while iterating.
const deadLetterBatch = 64

// validate checks the filter and returns the narrowest subject the server
// can select on, and the topic name to match (zero when any).
func (f DeadLetterFilter) validate(ns string) (subject string, name topic.Name, err error) {
	if f.Limit < 0 {
		return "", topic.Name{}, fmt.Errorf("%w: dead-letter filter limit %d is negative; use 0 for no limit", ErrInvalidOption, f.Limit)
	}
	if f.Group != "" {
		if err := topic.ValidateGroup(f.Group); err != nil {
			return "", topic.Name{}, optionError("dead-letter filter group", err)
		}
	}
	if f.Consumer != "" && !validConsumerName(f.Consumer) {
		return "", topic.Name{}, fmt.Errorf("%w: dead-letter filter consumer %q: a consumer name is letters, digits, '-' and '_', e.g. email__v1_user_signedup", ErrInvalidOption, truncate(f.Consumer, 64))
	}
	consumer := f.Consumer
	if f.Topic != "" {
		if name, err = topic.Parse(f.Topic); err != nil {
			return "", topic.Name{}, optionError("dead-letter filter topic", err)
		}
		if f.Group != "" {
			consumer = topic.ConsumerName(f.Group, name)
			if f.Consumer != "" && f.Consumer != consumer {
				return "", topic.Name{}, fmt.Errorf("%w: dead-letter filter names consumer %s but group %s on %s is %s", ErrInvalidOption, f.Consumer, f.Group, f.Topic, consumer)
			}
		}
	}
	if consumer == "" {
		return topic.DeadLetterSubjects(ns), name, nil
	}
	// The stream token is unknown without the kind: any stream.
	return topic.DeadLetterSubject(ns, "*", consumer), name, nil
}

// matches applies the parts of the filter the server could not.
func (f DeadLetterFilter) matches(dl *DeadLetter, ns string, name topic.Name) bool {
	if f.Group != "" && !strings.HasPrefix(dl.Consumer, f.Group+"__") {
		return false
	}
	if !name.IsZero() {
		if _, n, err := topic.ParseSubject(ns, dl.Subject); err != nil || n.String() != name.String() {
			return false
		}
	}
	return true
}

// DeadLetters iterates over the dead letters of the bus's namespace that
// match f, oldest first, holding only a small batch in memory at a time,
// so it suits dead-letter streams of any size. It reads through a
// short-lived consumer that it deletes when the iteration ends (or that
// the server removes a minute after this process died mid-read).
//
// An error ends the iteration: it is yielded once, with a zero DeadLetter.
//
//	for dl, err := range b.DeadLetters(ctx, bus.DeadLetterFilter{Group: "email"}) {
//		if err != nil { return err }
//		fmt.Println(dl.Consumer, dl.Reason)
//	}
func (b *Bus) DeadLetters(ctx context.Context, f DeadLetterFilter) iter.Seq2[DeadLetter, error] {
	return func(yield func(DeadLetter, error) bool) {
		if err := b.enterBeforeClose(); err != nil {
			yield(DeadLetter{}, err)
			return
		}
		defer b.leave()
		ns := b.cfg.namespace
		subject, name, err := f.validate(ns)
		if err != nil {
			yield(DeadLetter{}, err)
			return
		}
		var stopped bool
		limit := f.Limit // a local: ranging over the sequence again starts afresh
		// Reading only looks the stream up: creating it, or raising its
		// settings to this bus's, is for parking.
		err = func() error {
			return b.readDeadLetters(ctx, subject, f.Since, func(dl DeadLetter) bool {
				if !f.matches(&dl, ns, name) {
					return true
				}
				if !yield(dl, nil) {
					stopped = true
					return false
				}
				limit--
				return limit != 0
			})
		}()
		if err != nil && !stopped {
			yield(DeadLetter{}, fmt.Errorf("choreo/bus: reading dead letters: %w", err))
		}
	}
}

// readDeadLetters calls each for every dead letter on subject parked since
// since, until each returns false.
func (b *Bus) readDeadLetters(ctx context.Context, subject string, since time.Time, each func(DeadLetter) bool) error {
	name := b.deadLetterStream()
	stream, err := b.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // nothing was ever parked
	}
	if err != nil {
		return err
	}
	if stream.CachedInfo().State.Msgs == 0 {
		return nil
	}
	cfg := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     subject,
		InactiveThreshold: time.Minute, // cleans up if this process dies mid-read
		MemoryStorage:     true,
	}
	if !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		// A fresh context: the read's ctx may be what ended it.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	for {
		batch, err := cons.FetchNoWait(deadLetterBatch)
		if err != nil {
			return err
		}
		pending, n := uint64(0), 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			pending = meta.NumPending
			if !each(decodeDeadLetter(m, meta.Sequence.Stream, name)) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if pending == 0 || n == 0 {
			return nil
		}
	}
}

func decodeDeadLetter(m jetstream.Msg, seq uint64, dlqStream string) DeadLetter {
	h := m.Headers()
	dl := DeadLetter{
		dlqStream: dlqStream,
		Subject:   h.Get(topic.HeaderDeadLetterSubject),
		Consumer:  h.Get(topic.HeaderDeadLetterConsumer),
		Reason:    h.Get(topic.HeaderDeadLetterReason),
		Reduced:   h.Get(topic.HeaderDeadLetterReduced),
		Stream:    h.Get(topic.HeaderDeadLetterStream),
		Sequence:  seq,
		Header:    nats.Header{},
		Data:      m.Data(),
	}
	dl.Deliveries, _ = strconv.Atoi(h.Get(topic.HeaderDeadLetterDeliveries))
	dl.StreamSequence, _ = strconv.ParseUint(h.Get(topic.HeaderDeadLetterSequence), 10, 64)
	dl.FailedAt, _ = time.Parse(time.RFC3339Nano, h.Get(topic.HeaderDeadLetterFailedAt))
	if v, ok := h[topic.HeaderDeadLetterKeyContinued]; ok && len(v) > 0 {
		dl.KeyContinued, dl.OrderKey = true, v[0]
	}
	for k, v := range h {
		if k != jetstream.MsgIDHeader && !strings.HasPrefix(k, topic.HeaderDeadLetterPrefix) {
			dl.Header[k] = v
		}
	}
	if env, err := envelope.Read(dl.Header, dl.Data); err == nil {
		dl.Envelope = env
	}
	return dl
}

// PurgeDeadLetters deletes the dead letters that match f and returns how
// many it deleted. A filter with only Consumer set is purged by the server
// in one call (a dead letter parked during the call may be purged without
// being counted); any other filter deletes the matching dead letters one by
// one as DeadLetters finds them. An error leaves the rest in place; calling
// it again continues.
func (b *Bus) PurgeDeadLetters(ctx context.Context, f DeadLetterFilter) (int, error) {
	if err := b.enterBeforeClose(); err != nil {
		return 0, err
	}
	defer b.leave()
	if f == (DeadLetterFilter{Consumer: f.Consumer}) && f.Consumer != "" {
		subject, _, err := f.validate(b.cfg.namespace)
		if err != nil {
			return 0, err
		}
		stream, err := b.js.Stream(ctx, b.deadLetterStream())
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return 0, nil
		}
		n := 0
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = stream.Info(ctx, jetstream.WithSubjectFilter(subject)); err == nil {
				for _, c := range info.State.Subjects {
					n += int(c)
				}
				err = stream.Purge(ctx, jetstream.WithPurgeSubject(subject))
			}
		}
		if err != nil {
			return 0, fmt.Errorf("choreo/bus: purging dead letters of %s: %w", f.Consumer, err)
		}
		return n, nil // counted just before: one parked meanwhile is purged uncounted
	}
	n := 0
	for dl, err := range b.DeadLetters(ctx, f) {
		if err != nil {
			return n, err
		}
		if err := b.deleteDeadLetter(ctx, dl.Sequence); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DeleteDeadLetter deletes one dead letter (one that DeadLetters returned)
// without redelivering it. Deleting one that is already gone is not an
// error.
func (b *Bus) DeleteDeadLetter(ctx context.Context, dl DeadLetter) error {
	if err := b.enterBeforeClose(); err != nil {
		return err
	}
	defer b.leave()
	if err := b.checkOwnDeadLetter(dl); err != nil {
		return err
	}
	return b.deleteDeadLetter(ctx, dl.Sequence)
}

func (b *Bus) deleteDeadLetter(ctx context.Context, seq uint64) error {
	stream, err := b.js.Stream(ctx, b.deadLetterStream())
	if err == nil {
		err = stream.DeleteMsg(ctx, seq)
	}
	if err != nil && !msgGone(err) {
		return fmt.Errorf("choreo/bus: deleting dead letter %d: %w", seq, err)
	}
	return nil
}

// msgGone reports whether a delete failed because the message is already
// gone. The server answers that with its generic deletion failure ("no
// message found"), which nats.go passes on as text only.
func msgGone(err error) bool {
	return errors.Is(err, jetstream.ErrMsgNotFound) ||
		errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "no message found")
}
