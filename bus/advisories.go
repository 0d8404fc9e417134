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
	Deliveries int    `json:"deliveries"`
}

// deadLetterState owns the advisory converter of one bus.
type deadLetterState struct {
	mu      sync.Mutex
	cc      jetstream.ConsumeContext
	stopped bool
}

// start begins converting advisories, once per bus, within ctx (the set-up
// of the subscription that asks for it). A failure is logged, not
// returned: the explicit dead-letter path works without the converter, and
// the next subscription tries again.
func (s *deadLetterState) start(ctx context.Context, b *Bus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cc != nil || s.stopped {
		return
	}
	cc, err := b.startAdvisoryConverter(ctx)
	if err != nil {
		b.cfg.logger.Warn("choreo: not capturing max-deliveries advisories yet; the next subscription tries again. Until then a message whose handler crashed on its last attempt does not show in DeadLetters", "error", err)
		return
	}
	s.cc = cc
}

// stop ends the converter, waiting for it at most until ctx is done.
func (s *deadLetterState) stop(ctx context.Context) {
	s.mu.Lock()
	s.stopped = true // no start after stop
	cc := s.cc
	s.mu.Unlock()
	if cc == nil {
		return
	}
	cc.Drain()
	select {
	case <-cc.Closed():
	case <-ctx.Done():
		cc.Stop()
	}
}

func (b *Bus) startAdvisoryConverter(ctx context.Context) (jetstream.ConsumeContext, error) {
	err := b.streams.ensureWith(ctx, topic.AdvisoryStream, func() jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        topic.AdvisoryStream,
			Description: "choreo: JetStream max-deliveries advisories, turned into dead letters",
			Subjects:    []string{topic.AdvisorySubjects},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    b.cfg.replicas,
			MaxAge:      7 * 24 * time.Hour,
			Duplicates:  b.cfg.duplicateWindow,
		}
	})
	if err != nil {
		return nil, err
	}
	name := topic.AdvisoryConsumer(b.cfg.namespace)
	cons, err := ensureConsumer(ctx, b, topic.AdvisoryStream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "choreo: turns max-deliveries advisories into dead letters",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      b.cfg.replicas,
	})
	if err != nil {
		return nil, err
	}
	return cons.Consume(func(m jetstream.Msg) { b.convertAdvisory(m) }, jetstream.PullMaxMessages(16))
}

// convertAdvisory parks the message an advisory is about. Advisories of
// other namespaces are acknowledged and left to their own buses.
func (b *Bus) convertAdvisory(m jetstream.Msg) {
	var a maxDeliveriesAdvisory
	if err := json.Unmarshal(m.Data(), &a); err != nil || a.Stream == "" {
		_ = m.Term()
		return
	}
	if _, _, ours := topic.ParseStream(b.cfg.namespace, a.Stream); !ours {
		_ = m.Ack()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := b.js.Stream(ctx, a.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_ = m.Ack() // the stream is gone, and the message with it
		return
	}
	if err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	orig, err := stream.GetMsg(ctx, a.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		_ = m.Ack() // handled after all, or expired: nothing left to park
		return
	}
	if err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	d := &Delivery{WireSubject: orig.Subject, Stream: a.Stream, Consumer: a.Consumer, StreamSequence: a.StreamSeq, Attempt: a.Deliveries}
	reason := "max deliveries reached without an outcome: the handler crashed or exceeded its ack wait on every attempt"
	if err := b.park(ctx, orig.Header, orig.Data, d, reason); err != nil {
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	if k, _, _ := topic.ParseStream(b.cfg.namespace, a.Stream); k == topic.KindCommand {
		// A work-queue stream keeps an unacknowledged command forever.
		_ = stream.DeleteMsg(ctx, a.StreamSeq)
	}
	b.cfg.logger.Error("choreo: dead-lettered after max deliveries without an outcome", "stream", a.Stream, "consumer", a.Consumer, "sequence", a.StreamSeq)
	_ = m.Ack()
}
