package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// worker runs handlers for messages handed over by dispatch until the
// subscription stops.
func (s *Subscription) worker() {
	defer s.workers.Done()
	for {
		select {
		case q := <-s.work:
			s.inFlight.Add(1)
			s.process(q)
			s.inFlight.Add(-1)
		case <-s.quit:
			return
		}
	}
}

// process takes one message from delivery to acknowledgement.
func (s *Subscription) process(q queued) {
	msg := q.msg
	if to := msg.Headers()[topic.HeaderRedeliverTo]; len(to) > 0 && to[0] != s.consumer {
		other, err := s.redeliveredToOther(to[0])
		if err != nil {
			s.logger.Debug("choreo: cannot check a redelivered copy's consumer yet; retrying the message later", "error", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		if other {
			// A dead letter put back for another group of this topic. This
			// group has the original (handled, or still to come), so the
			// copy is not for it.
			_ = msg.Ack()
			return
		}
		s.logger.Warn("choreo: handling a message whose Choreo-Redeliver-To names no other consumer of this topic; the header is ignored",
			"redeliver_to", truncate(to[0], 64), "subject", msg.Subject())
	}
	hc := &handlerContext{parent: s.ctx}
	d := &hc.delivery
	*d = Delivery{WireSubject: msg.Subject(), Stream: s.stream, Consumer: s.consumer, Logger: s.logger, Attempt: 1, MaxDeliver: s.cfg.maxDeliver, orderKey: q.orderKey}
	if pos, ok := parseAckReply(msg.Reply()); ok {
		d.Attempt = int(pos.delivered)
		d.StreamSequence = pos.streamSeq
	}
	env, readErr := envelope.Read(msg.Headers(), msg.Data())
	d.Envelope = env
	hooks := &s.b.hooks
	var hookCtxs []context.Context
	if len(hooks.all) > 0 {
		hc.parent, hookCtxs = hooks.receive(s.ctx, d)
	}
	var st Settlement
	switch {
	case readErr != nil:
		st = s.deadLetter(msg, d, fmt.Errorf("%w: not a CloudEvent: %w", ErrDecode, readErr))
	default:
		if err := s.decodeSafely(d); err != nil {
			st = s.deadLetter(msg, d, err)
			break
		}
		var start time.Time
		if hookCtxs != nil {
			start = time.Now()
		}
		final, err := s.handle(hc, q) // runs, with in-place retries and the breaker
		d = &final.delivery
		st = s.settle(msg, d, err)
		if hookCtxs != nil {
			st.HandlerDuration = time.Since(start)
		}
	}
	if hookCtxs != nil {
		hooks.settle(hookCtxs, d, st)
	}
}

// keepInQueueDelay is how long a command too large to dead-letter whole
// waits in its work queue before it is delivered again.
const keepInQueueDelay = 24 * time.Hour

// maxRedeliverTargets bounds the cache of Choreo-Redeliver-To answers.
const maxRedeliverTargets = 1024

// redeliveredToOther reports whether consumer is another group's consumer
// of this subscription's topic, so a redelivered copy addressed to it may
// be skipped here. Anyone who can publish on the topic can set the header,
// so it is trusted only when it names a consumer that exists. A command
// has one consumer, so a copy of a command is never for another one.
// Consumers found are cached (a round trip once per name); a name not found
// is asked again next time, since its consumer may be created later.
func (s *Subscription) redeliveredToOther(consumer string) (bool, error) {
	if s.kind != topic.KindEvent || !strings.HasSuffix(consumer, topic.ConsumerName("", s.name)) {
		return false, nil
	}
	s.targetsMu.Lock()
	known, ok := s.redeliverTargets[consumer]
	s.targetsMu.Unlock()
	if ok {
		return known, nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	_, err := s.b.js.Consumer(ctx, s.stream, consumer)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, err
	}
	if err != nil {
		// Not cached: the consumer may be created (or recreated) later,
		// and a copy addressed to it then must not be handled here.
		return false, nil
	}
	s.targetsMu.Lock()
	if len(s.redeliverTargets) >= maxRedeliverTargets {
		// Bound the cache; starting over costs one lookup per name still
		// in use.
		clear(s.redeliverTargets)
	}
	s.redeliverTargets[consumer] = true
	s.targetsMu.Unlock()
	return true, nil
}

// decodeSafely decodes the payload into the handler's type. A panicking
// decoder (a payload type's UnmarshalJSON, a custom codec) fails this one
// message, which is then dead-lettered, instead of the process.
func (s *Subscription) decodeSafely(d *Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			d.Logger.Error("choreo: payload decoder panicked", "id", d.Envelope.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: payload decoder of %s: %w", ErrDecode, s.name, &panicError{value: r})
		}
	}()
	return s.decode(d)
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

// settle turns the handler's outcome into an acknowledgement and reports
// the decision.
func (s *Subscription) settle(msg jetstream.Msg, d *Delivery, err error) Settlement {
	log := s.logger
	switch {
	case err == nil:
		if ackErr := msg.Ack(); ackErr != nil {
			log.Warn("choreo: ack failed; the message will be redelivered", "id", d.Envelope.ID, "correlation_id", d.Envelope.CorrelationID, "error", ackErr)
			return Settlement{Decision: DecisionRetry, Delay: s.cfg.ackWait, Err: ackErr}
		}
		s.acked(d.StreamSequence)
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("choreo: handled", "id", d.Envelope.ID, "correlation_id", d.Envelope.CorrelationID, "attempt", d.Attempt)
		}
		return Settlement{Decision: DecisionAck}
	case s.ctx.Err() != nil:
		// Stopped mid-handler: not the message's fault; let another
		// instance take it now rather than after the ack wait.
		_ = msg.NakWithDelay(0)
		return Settlement{Decision: DecisionRelease, Err: err, Panicked: isPanic(err)}
	case IsPermanent(err):
		return s.deadLetter(msg, d, err)
	case d.LastAttempt():
		return s.deadLetter(msg, d, fmt.Errorf("failed %d times (max deliver): %w", d.Attempt, err))
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
		return Settlement{Decision: DecisionRetry, Delay: delay, Err: err, Panicked: isPanic(err)}
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
func (s *Subscription) deadLetter(msg jetstream.Msg, d *Delivery, reason error) Settlement {
	id, correlation := "", ""
	if d.Envelope != nil {
		id, correlation = d.Envelope.ID, d.Envelope.CorrelationID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text := reason.Error()
	keepOriginal, err := s.b.park(ctx, msg.Headers(), msg.Data(), d, text)
	if err != nil {
		// Not parked, so not terminated: the server redelivers it later, or,
		// past its max deliveries, announces it in the advisory that the
		// converter turns into a dead letter.
		delay := s.cfg.backoff[len(s.cfg.backoff)-1]
		s.logger.Error("choreo: cannot dead-letter now; leaving the message to a later delivery or the max-deliveries advisory",
			"id", id, "retry_in", delay, "error", err, "reason", reason)
		_ = msg.NakWithDelay(delay)
		return Settlement{Decision: DecisionRetry, Delay: delay, Err: reason, Panicked: isPanic(reason)}
	}
	if keepOriginal && s.kind == topic.KindCommand {
		// Its body did not fit the dead letter, and terminating a command
		// removes it from its work queue: keep it there for an operator
		// (the dead letter says where), handed back for a day so that its
		// handler does not run again at every back-off.
		s.logger.Error("choreo: dead-lettered a reduced copy; the command stays in its work queue", "id", id, "correlation_id", correlation, "reason", reason)
		_ = msg.NakWithDelay(keepInQueueDelay)
		return Settlement{Decision: DecisionDeadLetter, Err: reason, Reason: text, Panicked: isPanic(reason)}
	}
	s.logger.Error("choreo: dead-lettered", "id", id, "correlation_id", correlation, "attempt", d.Attempt, "reason", reason)
	_ = msg.TermWithReason(truncate(text, 200))
	return Settlement{Decision: DecisionDeadLetter, Err: reason, Reason: text, Panicked: isPanic(reason)}
}

// panicError is a recovered panic, as the error of the message it failed.
type panicError struct{ value any }

func (p *panicError) Error() string { return "panic: " + fmt.Sprint(p.value) }

// Unwrap returns the panic value when it was an error.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

// isPanic reports whether err is, or wraps, a recovered panic.
func isPanic(err error) bool {
	var p *panicError
	return errors.As(err, &p)
}

// recoverPanic turns a panic into an error carrying the stack, so that a
// broken handler fails its message instead of the process.
func recoverPanic(err *error, d *Delivery) {
	r := recover()
	if r == nil {
		return
	}
	d.Logger.Error("choreo: handler panicked", "panic", r, "stack", string(debug.Stack()))
	*err = &panicError{value: r}
}

// truncate cuts s to at most n bytes, never inside a UTF-8 character or a
// %XX escape, so the cut value still reads back as text.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if i := strings.LastIndexByte(s[max(n-2, 0):n], '%'); i >= 0 {
		n = max(n-2, 0) + i
	}
	return s[:n]
}
