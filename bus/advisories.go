package bus

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// A handler that crashes (or hangs past its ack wait) on the last allowed
// delivery cannot dead-letter its message. The server then gives up on its
// own and announces it with a MAX_DELIVERIES advisory. The bus captures
// these advisories in a stream and turns each into a dead letter, so that
// nothing a handler failed to report is lost silently.

// maxDeliveriesAdvisory is the part of the server's advisory the bus reads.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"` // not trusted: the consumer's MaxDeliver is used
}

// deadLetterState owns the advisory converters of one bus: one per
// consumer (group on a topic) that has a subscription on this bus.
type deadLetterState struct {
	mu      sync.Mutex
	ccs     map[advisoryKey]jetstream.ConsumeContext
	stopped bool
}

// advisoryKey names the consumer whose advisories a converter reads.
type advisoryKey struct{ stream, consumer string }

// watch makes sure the advisories of one consumer are captured and
// converted, within ctx (the set-up of the subscription that asks for it).
// A failure is returned for the caller to judge: a provisioning bus only
// logs it (the explicit dead-letter path works without the converter, and
// the next subscription tries again), a bus without provisioning rights
// has checked beforehand that everything exists.
func (s *deadLetterState) watch(ctx context.Context, b *Bus, stream, consumer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := advisoryKey{stream, consumer}
	if s.stopped || s.ccs[key] != nil {
		return nil
	}
	cc, err := b.convertAdvisories(ctx, stream, consumer)
	if err != nil {
		return err
	}
	if s.ccs == nil {
		s.ccs = make(map[advisoryKey]jetstream.ConsumeContext)
	}
	s.ccs[key] = cc
	return nil
}

// stop ends the converters, waiting for them at most until ctx is done.
func (s *deadLetterState) stop(ctx context.Context) {
	s.mu.Lock()
	s.stopped = true // no start after stop
	ccs := s.ccs
	s.ccs = nil
	s.mu.Unlock()
	for _, cc := range ccs {
		cc.Drain()
	}
	for _, cc := range ccs {
		select {
		case <-cc.Closed():
		case <-ctx.Done():
			cc.Stop()
		}
	}
}

// advisoryStreamConfig is the stream capturing a topic stream's
// advisories: fixed settings, so it never needs an update.
func (b *Bus) advisoryStreamConfig(stream string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        topic.AdvisoryStream(stream),
		Description: "choreo: max-deliveries advisories of the consumers of " + stream + ", turned into dead letters",
		Subjects:    []string{topic.AdvisorySubject(stream)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    b.cfg.replicas,
		MaxAge:      7 * 24 * time.Hour,
		Duplicates:  b.cfg.duplicateWindow,
	}
}

// advisoryConsumerConfig is the durable consumer through which the group
// behind consumer reads its own advisories.
func (b *Bus) advisoryConsumerConfig(stream, consumer string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       topic.AdvisoryConsumer(consumer),
		Description:   "choreo: turns the max-deliveries advisories of " + consumer + " into dead letters",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: topic.AdvisoryConsumerSubject(stream, consumer),
		Replicas:      b.cfg.replicas,
	}
}

// convertAdvisories makes sure the capture stream of a topic stream and
// the consumer's converter exist, and starts converting.
func (b *Bus) convertAdvisories(ctx context.Context, stream, consumer string) (jetstream.ConsumeContext, error) {
	sc := b.advisoryStreamConfig(stream)
	if err := b.streams.ensureWith(ctx, sc.Name, func() jetstream.StreamConfig { return sc }); err != nil {
		return nil, err
	}
	cons, err := ensureConsumer(ctx, b, sc.Name, b.advisoryConsumerConfig(stream, consumer))
	if err != nil {
		return nil, err
	}
	return cons.Consume(func(m jetstream.Msg) { b.convertAdvisory(m, consumer) }, jetstream.PullMaxMessages(16))
}

// convertAdvisory parks the message an advisory is about, once it has
// verified the advisory against the server: anyone allowed to publish on
// the advisory subjects can forge one, so nothing it says is taken on
// trust. The consumer must exist and read the message's subject, the
// message must still be in its stream, and the consumer must have
// delivered it and no longer hold it pending: the server drops a message it
// gave up on from the consumer's pending set, while a message a handler is
// working on (or that waits for a redelivery) stays in it. Pending state
// is only visible as the ack floor and a count, so the message counts as
// settled when it is at or below the floor or nothing is pending at all.
// An advisory that cannot be verified yet is looked at again after the
// consumer's ack wait.
func (b *Bus) convertAdvisory(m jetstream.Msg, consumer string) {
	var a maxDeliveriesAdvisory
	if err := json.Unmarshal(m.Data(), &a); err != nil || a.Stream == "" || a.Consumer != consumer || a.StreamSeq == 0 {
		_ = m.Term()
		return
	}
	if m.Subject() != topic.AdvisoryConsumerSubject(a.Stream, a.Consumer) {
		_ = m.Term() // the body names another consumer than the subject it came on
		return
	}
	kind, _, ours := topic.ParseStream(b.cfg.namespace, a.Stream)
	if !ours {
		_ = m.Term() // not a stream of this namespace: captured by mistake or forged
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := b.cfg.logger.With("stream", a.Stream, "consumer", a.Consumer, "sequence", a.StreamSeq)
	cons, err := b.js.Consumer(ctx, a.Stream, a.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		_ = m.Ack() // the group (or its stream) is gone: nothing to park for it
		return
	}
	if err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	info := cons.CachedInfo()
	if info.Config.MaxDeliver <= 0 {
		_ = m.Term() // a consumer without max deliveries never gives up on a message
		return
	}
	delivered := a.StreamSeq <= info.Delivered.Stream
	settled := a.StreamSeq <= info.AckFloor.Stream || info.NumAckPending == 0
	if !delivered || !settled {
		// Not delivered yet, or possibly still pending here: being
		// handled or waiting for a redelivery. A true advisory's message
		// has left the pending set, so the check passes as soon as the
		// messages before it settle or the consumer is idle.
		log.Debug("choreo: max-deliveries advisory not verified yet: the message may still be pending")
		_ = m.NakWithDelay(max(info.Config.AckWait, time.Second))
		return
	}
	stream, err := b.js.Stream(ctx, a.Stream)
	if err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	orig, err := stream.GetMsg(ctx, a.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		_ = m.Ack() // handled after all (a command is removed when acked), or expired
		return
	}
	if err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	if orig.Subject != info.Config.FilterSubject {
		_ = m.Term() // the consumer never read this message
		return
	}
	d := &Delivery{WireSubject: orig.Subject, Stream: a.Stream, Consumer: a.Consumer, StreamSequence: a.StreamSeq, Attempt: info.Config.MaxDeliver}
	reason := "max deliveries reached without an outcome: the handler crashed or exceeded its ack wait on every attempt"
	keepOriginal, err := b.park(ctx, orig.Header, orig.Data, d, reason)
	if err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	if kind == topic.KindCommand && !keepOriginal {
		// A work-queue stream keeps an unacknowledged command forever.
		_ = stream.DeleteMsg(ctx, a.StreamSeq)
	}
	log.Error("choreo: dead-lettered after max deliveries without an outcome")
	_ = m.Ack()
}
