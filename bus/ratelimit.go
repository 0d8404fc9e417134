package bus

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"
)

// A rate-limited subscription takes its tokens before it fetches: it asks
// the server for no more messages than it has tokens for, so a message is
// only delivered (and its ack-wait clock only starts) once it may be
// handled. Waiting for a token therefore happens with the message still on
// the server, where waiting costs nothing and no ack wait can run out;
// every instance of the group keeps taking its share meanwhile. It fetches
// in short pulls (limitedFetchWait) instead of nats.go's continuous
// Consume, so it can stop asking between them.

// limitedFetchWait is how long one fetch of a rate-limited subscription
// waits for messages; it also bounds how long Drain waits for the fetch
// under way. The heartbeat (pullHeartbeat) notices a lost consumer.
const limitedFetchWait = 3 * time.Second

// rateLimit is WithRateLimit's setting and, once validated, the limiter
// shared by every consumption of the subscription (a consumer recreated
// after a loss does not get a fresh burst).
type rateLimit struct {
	perSecond float64
	burst     int
	limiter   *rate.Limiter
}

// WithRateLimit limits how often this instance starts the handler of the
// subscription (HandleCommand or Subscribe): at most perSecond on average,
// with bursts of up to burst at once, redeliveries included. In any
// window of w seconds an instance takes at most perSecond*w + burst
// messages to handle (and so starts no more handlers than that); n
// instances of the group together take up to n times that.
// Messages wait for their turn on the server, not in the client, so none
// outlives its ack wait while waiting (see ratelimit.go). perSecond must
// be positive and finite, burst at least 1.
func WithRateLimit(perSecond float64, burst int) SubscribeOption {
	return func(c *subscribeConfig) { c.rate = &rateLimit{perSecond: perSecond, burst: burst} }
}

// validate checks the setting and makes the limiter, full: a new
// subscription may start a burst at once.
func (r *rateLimit) validate() error {
	if r == nil {
		return nil
	}
	if math.IsNaN(r.perSecond) || math.IsInf(r.perSecond, 0) || r.perSecond <= 0 {
		return fmt.Errorf("%w: rate limit %v per second: use a positive, finite rate (omit WithRateLimit for no limit)", ErrInvalidOption, r.perSecond)
	}
	if r.burst < 1 {
		return fmt.Errorf("%w: rate limit burst %d: use at least 1", ErrInvalidOption, r.burst)
	}
	r.limiter = rate.NewLimiter(rate.Limit(r.perSecond), r.burst)
	return nil
}

// limitedConsumption is the fetch loop of a rate-limited subscription, in
// the shape of the jetstream.ConsumeContext it stands in for.
type limitedConsumption struct {
	s      *Subscription
	cons   jetstream.Consumer
	d      *dispatcher
	stop   chan struct{} // closed by Stop or Drain
	once   sync.Once
	closed chan struct{} // closed when the loop has returned
}

// startLimited is consume for a rate-limited subscription: it starts the
// fetch loop, which runs until Stop or Drain, as the subscription's
// consume context.
func (s *Subscription) startLimited(cons jetstream.Consumer, d *dispatcher) error {
	l := &limitedConsumption{s: s, cons: cons, d: d, stop: make(chan struct{}), closed: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil // stopped while the consumer was being recreated
	}
	go l.run() // owned: ends at Stop or Drain, which every shutdown path calls
	s.cc = l
	s.consuming.Store(time.Now().UnixNano())
	return nil
}

// Stop ends the loop after the fetch under way; messages it still brings
// are handed back by dispatch, which sees the subscription stopping.
func (l *limitedConsumption) Stop() { l.once.Do(func() { close(l.stop) }) }

// Drain ends the loop after the fetch under way, whose messages are still
// handled.
func (l *limitedConsumption) Drain() { l.Stop() }

// Closed is closed when the loop has returned.
func (l *limitedConsumption) Closed() <-chan struct{} { return l.closed }

func (l *limitedConsumption) run() {
	defer close(l.closed)
	lim := l.s.cfg.rate.limiter
	for {
		tokens, ok := l.awaitToken(lim)
		if !ok {
			return
		}
		// No more than the tokens, the free workers and the prefetch: a
		// fetched message goes straight to a worker.
		free := l.s.cfg.concurrency - int(l.s.inFlight.Load())
		n := max(1, min(int(tokens), free, l.s.cfg.prefetch))
		batch, err := l.cons.Fetch(n, jetstream.FetchMaxWait(limitedFetchWait), jetstream.FetchHeartbeat(pullHeartbeat))
		if err == nil {
			for msg := range batch.Messages() {
				lim.ReserveN(time.Now(), 1) // available: at most `tokens` arrive
				l.d.dispatch(msg)
			}
			err = batch.Error()
		}
		if err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			l.s.consumeError(l, err)
			if !l.pause(pullHeartbeat) {
				return
			}
		}
	}
}

// awaitToken waits until at least one token is available, without taking
// it, and returns how many are; ok is false when the loop is to stop.
//
// While it waits, no pull request is on the server, which Health would
// otherwise take for a stalled subscription; so the loop marks itself
// alive (the consuming timestamp) at every step instead. A loop that hangs
// stops marking and is reported as usual.
func (l *limitedConsumption) awaitToken(lim *rate.Limiter) (tokens float64, ok bool) {
	for {
		select {
		case <-l.stop:
			return 0, false
		default:
		}
		l.s.consuming.Store(time.Now().UnixNano())
		tokens = lim.TokensAt(time.Now())
		if tokens >= 1 {
			return tokens, true
		}
		wait := time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
		// Wake at least every pull heartbeat to mark the loop alive.
		if !l.pause(min(max(wait, time.Millisecond), pullHeartbeat)) {
			return 0, false
		}
	}
}

// pause waits d, or reports false at once when the loop is to stop.
func (l *limitedConsumption) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.stop:
		return false
	case <-t.C:
		return true
	}
}
