package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
)

// worker runs handlers for messages handed over by dispatch until the
// subscription stops.
func (s *Subscription) worker() {
	defer s.workers.Done()
	for {
		select {
		case q := <-s.work:
			s.process(q)
		case <-s.quit:
			return
		}
	}
}

// process takes one message from delivery to acknowledgement.
func (s *Subscription) process(q queued) {
	msg := q.msg
	if to := msg.Headers()[hdrRedeliverTo]; len(to) > 0 && to[0] != s.consumer {
		// A dead letter put back for another group of this topic. This
		// group has the original (handled, or still to come), so the copy
		// is not for it.
		_ = msg.Ack()
		return
	}
	hc := &handlerContext{parent: s.ctx}
	d := &hc.delivery
	*d = Delivery{Subject: msg.Subject(), Stream: s.stream, Consumer: s.consumer, Logger: s.logger, Attempt: 1, MaxDeliver: s.cfg.maxDeliver}
	if pos, ok := parseAckReply(msg.Reply()); ok {
		d.Attempt = int(pos.delivered)
		d.StreamSequence = pos.streamSeq
	}
	env, err := envelope.Read(msg.Headers(), msg.Data())
	if err != nil {
		s.deadLetter(msg, d, fmt.Errorf("%w: not a CloudEvent: %w", ErrDecode, err))
		return
	}
	d.Envelope = env
	if err := s.decode(d); err != nil {
		s.deadLetter(msg, d, err)
		return
	}
	s.settle(msg, d, s.run(hc, q))
}

// run calls the middleware chain and handler under the handler deadline,
// keeping the message alive while a long handler works.
func (s *Subscription) run(ctx *handlerContext, q queued) (err error) {
	// The deadline counts from when the server may have delivered the
	// message. A message that waited long for a worker is first marked in
	// progress (one publish, no round trip), which restarts the server's
	// ack-wait clock, so it is not redelivered while it is being handled.
	start := q.arrived
	if now := time.Now(); now.Sub(q.arrived) > s.cfg.ackWait/10 {
		_ = q.msg.InProgress()
		start = now
	}
	ctx.setDeadline(start.Add(s.cfg.handlerTimeout))
	defer ctx.finish()
	if s.cfg.handlerTimeout > s.cfg.ackWait {
		stop := s.keepAlive(q.msg)
		defer stop()
	}
	// Middleware may panic too; the handler's own panics were already
	// turned into errors inside the chain, so middleware saw them.
	d := &ctx.delivery
	defer recoverPanic(&err, d)
	return s.handler(ctx, d)
}

// keepAlive tells the server every half ack wait that the message is still
// being worked on, until the returned stop is called.
func (s *Subscription) keepAlive(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.cfg.ackWait / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// settle turns the handler's outcome into an acknowledgement.
func (s *Subscription) settle(msg jetstream.Msg, d *Delivery, err error) {
	log := s.logger
	switch {
	case err == nil:
		if ackErr := msg.Ack(); ackErr != nil {
			log.Warn("choreo: ack failed; the message will be redelivered", "id", d.Envelope.ID, "correlation_id", d.Envelope.CorrelationID, "error", ackErr)
			return
		}
		s.acked(d.StreamSequence)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("choreo: handled", "id", d.Envelope.ID, "correlation_id", d.Envelope.CorrelationID, "attempt", d.Attempt)
		}
	case s.ctx.Err() != nil:
		// Stopped mid-handler: not the message's fault; let another
		// instance take it now rather than after the ack wait.
		_ = msg.NakWithDelay(0)
	case IsPermanent(err):
		s.deadLetter(msg, d, err)
	case d.LastAttempt():
		s.deadLetter(msg, d, fmt.Errorf("failed %d times (max deliver): %w", d.Attempt, err))
	default:
		// A requested delay (RetryAfter: rate limits, a busy idempotency
		// key) is expected flow, logged at Info; other failures warn.
		level, msgText := slog.LevelInfo, "choreo: redelivery requested"
		delay, ok := retryDelay(err)
		if !ok {
			level, msgText = slog.LevelWarn, "choreo: handler failed; will retry"
			delay = s.cfg.backoff[min(d.Attempt, len(s.cfg.backoff))-1]
		}
		log.Log(context.Background(), level, msgText, "id", d.Envelope.ID, "correlation_id", d.Envelope.CorrelationID,
			"attempt", d.Attempt, "max_deliver", d.MaxDeliver, "retry_in", delay, "error", err)
		_ = msg.NakWithDelay(delay)
	}
}

// acked remembers the highest stream sequence acknowledged here.
func (s *Subscription) acked(seq uint64) {
	for {
		cur := s.lastAcked.Load()
		if seq <= cur || s.lastAcked.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// deadLetter parks the message in the dead-letter stream, then terminates
// it. If the dead-letter stream cannot take it, the message is redelivered
// later instead: it is never dropped.
func (s *Subscription) deadLetter(msg jetstream.Msg, d *Delivery, reason error) {
	id, correlation := "", ""
	if d.Envelope != nil {
		id, correlation = d.Envelope.ID, d.Envelope.CorrelationID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.b.park(ctx, msg.Headers(), msg.Data(), d, reason.Error()); err != nil {
		// Not parked, so not terminated: the server redelivers it later, or,
		// past its max deliveries, announces it in the advisory that the
		// converter turns into a dead letter.
		delay := s.cfg.backoff[len(s.cfg.backoff)-1]
		s.logger.Error("choreo: cannot dead-letter now; leaving the message to a later delivery or the max-deliveries advisory",
			"id", id, "retry_in", delay, "error", err, "reason", reason)
		_ = msg.NakWithDelay(delay)
		return
	}
	s.logger.Error("choreo: dead-lettered", "id", id, "correlation_id", correlation, "attempt", d.Attempt, "reason", reason)
	_ = msg.TermWithReason(truncate(reason.Error(), 200))
}

// recoverPanic turns a panic into an error carrying the stack, so that a
// broken handler fails its message instead of the process.
func recoverPanic(err *error, d *Delivery) {
	r := recover()
	if r == nil {
		return
	}
	stack := debug.Stack()
	d.Logger.Error("choreo: handler panicked", "panic", r, "stack", string(stack))
	if e, ok := r.(error); ok {
		*err = fmt.Errorf("panic: %w", e)
		return
	}
	*err = errors.New("panic: " + fmt.Sprint(r))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
