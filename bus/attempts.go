package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/internal/version"
)

// handle runs the handler for one message until its outcome is final,
// and returns that outcome with the handler context of the last run. A
// plain subscription runs it once and leaves retries to the server. An
// ordered one (WithOrdered) retries a failure in place, keeping the
// message so that later messages of its key wait. A circuit breaker
// (WithCircuitBreaker) holds the message while the group is paused, and
// keeps the message that opened it to probe the dependency after the
// cool-down.
func (s *Subscription) handle(hc *handlerContext, q queued) (*handlerContext, error) {
	probing := false
	for {
		if probing && !s.breaker.probing() {
			probing = false // another instance probes; wait like the rest
		}
		if s.breaker != nil && !probing {
			if err := s.breaker.admit(q.msg); err != nil {
				return hc, err
			}
		}
		err := s.run(hc, q)
		var delay time.Duration
		again, counts := false, false
		if s.breaker != nil {
			probing, delay = s.breaker.record(err, probing)
			again = probing
		}
		if !again && s.ordered != nil {
			delay, again = s.retryInPlace(&hc.delivery, err)
			counts = again
		}
		if !again || !s.holdFor(q.msg, delay) {
			return hc, err
		}
		next := &handlerContext{parent: hc.parent}
		next.delivery = hc.delivery
		next.delivery.payload = nil
		if counts {
			next.delivery.Attempt++
		}
		if derr := s.decodeSafely(&next.delivery); derr != nil {
			return next, derr
		}
		hc, q.arrived = next, time.Now()
	}
}

// retryInPlace decides whether an ordered subscription runs a failed
// message again itself, and after how long: the same rules and delays as a
// redelivery, without giving the message back.
func (s *Subscription) retryInPlace(d *Delivery, err error) (time.Duration, bool) {
	if err == nil || IsPermanent(err) || d.LastAttempt() || s.ctx.Err() != nil {
		return 0, false
	}
	level, text := slog.LevelInfo, "choreo: redelivery requested; retrying in place to keep the key's order"
	delay, ok := retryDelay(err)
	if !ok {
		level, text = slog.LevelWarn, "choreo: handler failed; retrying in place to keep the key's order"
		delay = s.cfg.backoff[min(d.Attempt, len(s.cfg.backoff))-1]
	}
	d.Logger.Log(context.Background(), level, text, "id", d.Envelope.ID, "correlation_id", d.Envelope.CorrelationID,
		"attempt", d.Attempt, "max_deliver", d.MaxDeliver, "retry_in", delay, "error", err)
	return delay, true
}

// holdFor keeps msg for d, marking it in progress so that the server does
// not redeliver it meanwhile. It reports false when the subscription
// stopped first.
func (s *Subscription) holdFor(msg jetstream.Msg, d time.Duration) bool {
	stop := s.keepAlive(msg)
	defer stop()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// pauseServerVersion is the oldest nats-server with consumer pause and
// pinned-client priority groups.
const pauseServerVersion = "2.11.0"

// checkFlowSupport fails a subscription whose options need a newer server
// than the one connected, with an error saying so.
func (b *Bus) checkFlowSupport(cfg subscribeConfig) error {
	v := b.nc.ConnectedServerVersion()
	if v == "" || version.AtLeast(v, pauseServerVersion) {
		return nil
	}
	switch {
	case cfg.ordered != nil:
		return fmt.Errorf("%w: WithOrdered needs nats-server %s or newer (pinned priority groups); the server runs %s: upgrade it or drop the option",
			ErrInvalidOption, pauseServerVersion, v)
	case cfg.breaker != nil:
		return fmt.Errorf("%w: WithCircuitBreaker needs nats-server %s or newer (consumer pause); the server runs %s: upgrade it or drop the option",
			ErrInvalidOption, pauseServerVersion, v)
	}
	return nil
}

// startFlow starts the per-key queue and the breaker of a subscription
// that uses them; stopFlow ends them once the workers have stopped.
func (s *Subscription) startFlow() {
	if s.cfg.ordered != nil {
		s.ordered = newOrderedQueue(s)
	}
	if s.cfg.breaker != nil {
		s.breaker = newBreaker(s)
	}
}

func (s *Subscription) stopFlow() {
	if s.ordered != nil {
		s.ordered.handBack()
	}
	if s.breaker != nil {
		s.breaker.close()
	}
}

// maxOrderKeyBytes bounds the ordering key a dead letter names.
const maxOrderKeyBytes = 256
