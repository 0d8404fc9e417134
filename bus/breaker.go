package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// A circuit breaker (WithCircuitBreaker) stops a group from burning its
// backlog into the dead letters while something it depends on is down.
//
// After `failures` consecutive counted failures on one instance, that
// instance pauses the group's consumer on the server (JetStream consumer
// pause), so no instance receives anything, and keeps the message that
// failed last as its probe. Messages still in the stream are not delivered
// while the consumer is paused, so they use none of their attempts. After
// the cool-down the instance runs the probe's handler again (the consumer
// still paused, so this is the only message tried): success resumes the
// consumer for every instance; failure pauses it for another cool-down.
// Probe runs do not count as attempts of the probe message. Messages other
// instances had already received when the pause began wait there, marked
// in progress, until the consumer resumes; they learn of the pause from the
// server's pause advisory, and check the consumer itself when the pause
// should have ended. If the instance holding the probe dies, the pause ends
// by itself a handler timeout after the cool-down.

// BreakerState is the state of a subscription's circuit breaker, as this
// instance sees it.
type BreakerState string

const (
	// BreakerClosed: messages flow; consecutive failures are counted.
	BreakerClosed BreakerState = "closed"
	// BreakerOpen: the group's consumer is paused (by this instance or
	// another); messages already received wait.
	BreakerOpen BreakerState = "open"
	// BreakerProbing: this instance paused the group and holds one message
	// that it tries again after each cool-down (half-open).
	BreakerProbing BreakerState = "probing"
)

// breakerConfig is the setting of WithCircuitBreaker.
type breakerConfig struct {
	failures int
	coolDown time.Duration
	counts   func(error) bool
}

// BreakerOption refines WithCircuitBreaker.
type BreakerOption func(*breakerConfig)

// BreakOn sets which handler errors count as failures of the dependency
// the breaker protects; any other error ends a run of consecutive
// failures, as a success does. Default: every error
// except Permanent ones (the message is at fault, not the dependency) and
// RetryAfter ones (expected flow, such as a busy idempotency key).
func BreakOn(counts func(err error) bool) BreakerOption {
	return func(c *breakerConfig) { c.counts = counts }
}

// WithCircuitBreaker pauses the whole group (every instance) after
// `failures` consecutive failed handler runs on one instance, for coolDown;
// then one message is tried again, and consumption resumes when it
// succeeds (else the group stays paused for another coolDown). The handler's
// returned error is the outcome, as always; BreakOn narrows which errors
// count. Messages waiting in the stream during the pause are not
// delivered, so they use none of their attempts (WithMaxDeliver) and are
// not dead-lettered for an outage; messages an instance had already
// received wait there (kept in progress) without a run, and handlers that
// were running when it opened settle as usual (a failure is an attempt:
// the handler ran). The probe's runs are not attempts of the probe
// message. The state is logged (warn when it
// opens) and reported by Bus.Status. It needs nats-server 2.11 or newer
// (consumer pause).
func WithCircuitBreaker(failures int, coolDown time.Duration, opts ...BreakerOption) SubscribeOption {
	return func(c *subscribeConfig) {
		bc := &breakerConfig{failures: failures, coolDown: coolDown, counts: countsByDefault}
		for _, o := range opts {
			if o != nil {
				o(bc)
			}
		}
		c.breaker = bc
	}
}

// countsByDefault is BreakOn's default.
func countsByDefault(err error) bool {
	_, requested := retryDelay(err)
	return !IsPermanent(err) && !requested
}

func (c *breakerConfig) validate() error {
	switch {
	case c == nil:
		return nil
	case c.failures < 1 || c.failures > 1_000_000:
		return fmt.Errorf("%w: circuit breaker failures %d: use 1 to 1000000 consecutive failures", ErrInvalidOption, c.failures)
	case c.coolDown < 100*time.Millisecond:
		return fmt.Errorf("%w: circuit breaker cool-down %s: use at least 100ms (typically seconds to minutes)", ErrInvalidOption, c.coolDown)
	case c.counts == nil:
		return fmt.Errorf("%w: BreakOn's function is nil; omit BreakOn to count every error but Permanent and RetryAfter", ErrInvalidOption)
	}
	return nil
}

// breaker is one instance's circuit breaker of a subscription.
type breaker struct {
	s   *Subscription
	cfg breakerConfig

	mu         sync.Mutex
	state      BreakerState
	failures   int           // consecutive counted failures here
	pauseUntil time.Time     // when the current pause ends by itself
	changed    chan struct{} // closed and replaced on every state change

	advisories *nats.Subscription
}

func newBreaker(s *Subscription) *breaker {
	b := &breaker{s: s, cfg: *s.cfg.breaker, state: BreakerClosed, changed: make(chan struct{})}
	if info := s.cons.CachedInfo(); info != nil && info.Paused {
		b.state, b.pauseUntil = BreakerOpen, time.Now().Add(info.PauseRemaining)
	}
	sub, err := s.b.nc.Subscribe(topic.PauseAdvisorySubject(s.stream, s.consumer), b.advisory)
	if err != nil {
		s.logger.Warn("choreo: cannot listen for the group's pause advisories; messages received just before another instance pauses the group are still handled",
			"error", err)
	}
	b.advisories = sub
	return b
}

// setLocked changes the state and wakes the waiting workers.
func (b *breaker) setLocked(st BreakerState) {
	if b.state == st {
		return
	}
	b.state = st
	close(b.changed)
	b.changed = make(chan struct{})
}

// current returns the state.
func (b *breaker) current() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// advisory follows pauses and resumptions of the group's consumer made by
// any instance, or by the server when a pause ran out.
func (b *breaker) advisory(m *nats.Msg) {
	var adv struct {
		Stream     string    `json:"stream"`
		Consumer   string    `json:"consumer"`
		Paused     bool      `json:"paused"`
		PauseUntil time.Time `json:"pause_until"`
	}
	if err := json.Unmarshal(m.Data, &adv); err != nil || adv.Stream != b.s.stream || adv.Consumer != b.s.consumer {
		return // not an advisory about this consumer
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.state == BreakerProbing && adv.Paused && adv.PauseUntil.After(b.pauseUntil):
		// Another instance opened the breaker at the same time (before
		// this one's pause reached it): the later pause wins, so exactly
		// one instance keeps probing. This one's probe waits like any
		// other message.
		b.pauseUntil = adv.PauseUntil
		b.setLocked(BreakerOpen)
		b.s.logger.Info("choreo: another instance opened the circuit breaker at the same time and probes; this one waits", "until", adv.PauseUntil)
	case b.state == BreakerProbing:
		// This instance paused the group; its probe decides what comes next.
	case adv.Paused:
		b.pauseUntil = adv.PauseUntil
		if b.state != BreakerOpen {
			b.s.logger.Info("choreo: the group's consumer was paused by its circuit breaker; waiting", "until", adv.PauseUntil)
		}
		b.setLocked(BreakerOpen)
	default:
		if b.state == BreakerOpen {
			b.s.logger.Info("choreo: the group's consumer resumed; handling messages again")
		}
		b.failures = 0
		b.setLocked(BreakerClosed)
	}
}

// admit waits while the group is paused (the message marked in progress
// meanwhile) and returns nil when the message may run, or the context's
// error when the subscription stops first.
func (b *breaker) admit(msg jetstream.Msg) error {
	var stopKeeping func()
	defer func() {
		if stopKeeping != nil {
			stopKeeping()
		}
	}()
	for {
		b.mu.Lock()
		st, changed, until := b.state, b.changed, b.pauseUntil
		b.mu.Unlock()
		if st == BreakerClosed {
			return nil
		}
		if stopKeeping == nil {
			stopKeeping = b.s.keepAlive(msg)
		}
		// Check the consumer itself when the pause should have ended, in
		// case the advisory saying so was missed.
		check := time.NewTimer(max(time.Until(until), 0) + time.Second)
		select {
		case <-changed:
		case <-check.C:
			b.checkPaused()
		case <-b.s.ctx.Done():
			check.Stop()
			return b.s.ctx.Err()
		}
		check.Stop()
	}
}

// checkPaused asks the server whether the consumer is still paused and
// closes the breaker if not (unless this instance is probing).
func (b *breaker) checkPaused() {
	ctx, cancel := context.WithTimeout(b.s.ctx, 5*time.Second)
	defer cancel()
	info, err := b.s.consumerInfo(ctx)
	if err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.state != BreakerOpen:
	case info.Paused:
		b.pauseUntil = time.Now().Add(info.PauseRemaining)
	default:
		b.failures = 0
		b.setLocked(BreakerClosed)
	}
}

// record counts a handler run's outcome. It reports whether the message
// is (still) the probe, to be run again after the returned delay.
func (b *breaker) record(err error, probing bool) (probe bool, delay time.Duration) {
	counted := err != nil && b.s.ctx.Err() == nil && b.cfg.counts(err)
	b.mu.Lock()
	if probing && b.state != BreakerProbing {
		probing = false // another instance took over the probing meanwhile
	}
	if probing {
		if counted {
			b.mu.Unlock()
			until := b.pause()
			b.s.logger.Info("choreo: circuit breaker probe failed; the group stays paused", "until", until, "error", err)
			return true, b.cfg.coolDown
		}
		// The dependency answered (or the message itself is at fault):
		// resume every instance. After a non-counted failure one more
		// counted failure opens the breaker again.
		b.failures = 0
		if err != nil {
			b.failures = b.cfg.failures - 1
		}
		b.setLocked(BreakerClosed)
		b.mu.Unlock()
		b.resume()
		return false, 0
	}
	switch {
	case err == nil || !counted && b.s.ctx.Err() == nil:
		b.failures = 0
		b.mu.Unlock()
		return false, 0
	case !counted:
		b.mu.Unlock()
		return false, 0
	}
	b.failures++
	if b.failures < b.cfg.failures || b.state != BreakerClosed {
		b.mu.Unlock()
		return false, 0
	}
	b.setLocked(BreakerProbing)
	n := b.failures
	b.mu.Unlock()
	until := b.pause()
	if until.IsZero() {
		b.mu.Lock()
		b.failures = 0
		b.setLocked(BreakerClosed)
		b.mu.Unlock()
		return false, 0
	}
	b.s.logger.Warn("choreo: circuit breaker opened; the group is paused on every instance",
		"consecutive_failures", n, "cool_down", b.cfg.coolDown, "until", until, "error", err)
	return true, b.cfg.coolDown
}

// pause pauses the group's consumer until the cool-down and the probe's
// run are over, and returns that time (zero if the server refused).
func (b *breaker) pause() time.Time {
	until := time.Now().Add(b.cfg.coolDown + b.s.cfg.handlerTimeout + 2*time.Second).UTC()
	// Known before the server's advisory of this very pause arrives, so
	// that advisory is recognised as this instance's own.
	b.mu.Lock()
	b.pauseUntil = until
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.s.ctx, 5*time.Second)
	defer cancel()
	if _, err := b.s.b.js.PauseConsumer(ctx, b.s.stream, b.s.consumer, until); err != nil {
		b.s.logger.Error("choreo: circuit breaker cannot pause the group's consumer; messages keep flowing", "error", err)
		return time.Time{}
	}
	return until
}

// probing reports whether this instance still holds the probe.
func (b *breaker) probing() bool { return b.current() == BreakerProbing }

// resume resumes the group's consumer after a successful probe.
func (b *breaker) resume() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.s.b.js.ResumeConsumer(ctx, b.s.stream, b.s.consumer); err != nil {
		b.s.logger.Error("choreo: circuit breaker cannot resume the group's consumer; it resumes by itself when the pause ends", "error", err)
		return
	}
	b.s.logger.Info("choreo: circuit breaker closed; the probe succeeded and the group consumes again")
}

// close stops listening for advisories.
func (b *breaker) close() {
	if b.advisories != nil {
		_ = b.advisories.Unsubscribe()
	}
}
