package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnhealthy is matched (errors.Is) by every error Health returns.
var ErrUnhealthy = errors.New("choreo/bus: unhealthy")

// SubscriptionState is what a subscription is doing, as Status sees it.
type SubscriptionState string

const (
	// StateConsuming: the consumer exists and the subscription pulls from
	// it (or all its workers are busy).
	StateConsuming SubscriptionState = "consuming"
	// StateRecreating: the consumer was lost (deleted, or lost by the
	// server) and the subscription is creating it again.
	StateRecreating SubscriptionState = "recreating"
	// StateStalled: the subscription has free workers but no pull request
	// waits on the server and nothing was delivered for a while: the
	// client stopped pulling (a known failure mode of pull consumers).
	StateStalled SubscriptionState = "stalled"
	// StateUnknown: the server could not be asked (disconnected, or ctx
	// ended).
	StateUnknown SubscriptionState = "unknown"
	// StatePaused: the group's consumer is paused on the server (by a
	// circuit breaker, WithCircuitBreaker, or an operator); no instance
	// receives messages until it resumes. Health does not count it as a
	// problem: the pause protects a dependency, and restarting the service
	// would not help.
	StatePaused SubscriptionState = "paused"
)

// SubscriptionStatus is one running subscription as the server and the
// bus see it.
type SubscriptionStatus struct {
	Topic    string
	Stream   string
	Consumer string
	State    SubscriptionState
	// Detail says why the state is not StateConsuming.
	Detail string
	// Pending is how many messages of the topic the group has not received
	// yet (its lag); AckPending how many it received and has not settled;
	// Waiting how many pull requests (of every instance) wait on the server.
	Pending, AckPending, Waiting uint64
	// InFlight is how many handlers of this instance run now.
	InFlight int
	// LastDelivery is when this instance last received a message (zero if
	// never).
	LastDelivery time.Time
	// Breaker is this instance's circuit breaker state (WithCircuitBreaker);
	// empty when the subscription has none.
	Breaker BreakerState
}

// stallGrace is how long a subscription with free workers may go without
// a waiting pull request and without a delivery before it counts as
// stalled: a pull request lives pullExpiry and the next one follows within
// a heartbeat, so a healthy subscription is never without one this long.
const stallGrace = pullExpiry + 2*pullHeartbeat

// Status reports every running subscription of the bus, asking the server
// for each consumer's state (one request per subscription, bounded by ctx).
// Safe for concurrent use.
func (b *Bus) Status(ctx context.Context) []SubscriptionStatus {
	b.mu.Lock()
	subs := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	out := make([]SubscriptionStatus, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.status(ctx))
	}
	return out
}

func (s *Subscription) status(ctx context.Context) SubscriptionStatus {
	st := SubscriptionStatus{Topic: s.name.String(), Stream: s.stream, Consumer: s.consumer, State: StateConsuming, InFlight: int(s.inFlight.Load())}
	if ns := s.lastDelivery.Load(); ns != 0 {
		st.LastDelivery = time.Unix(0, ns)
	}
	if s.breaker != nil {
		st.Breaker = s.breaker.current()
	}
	if s.recreating.Load() {
		st.State, st.Detail = StateRecreating, "the consumer was lost; creating it again"
		return st
	}
	info, err := s.consumerInfo(ctx)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		st.State, st.Detail = StateRecreating, "the consumer is gone from the server; it is being created again"
		return st
	case err != nil:
		st.State, st.Detail = StateUnknown, "cannot ask the server: "+err.Error()
		return st
	}
	st.Pending, st.AckPending, st.Waiting = info.NumPending, uint64(info.NumAckPending), uint64(info.NumWaiting)
	if info.Paused {
		st.State, st.Detail = StatePaused, fmt.Sprintf("the consumer is paused for another %s (circuit breaker or operator)", info.PauseRemaining.Round(time.Millisecond))
		return st
	}
	if s.maybeStalled(info) {
		// Confirm after a heartbeat: the pull request may have just expired
		// with the next one on its way.
		select {
		case <-time.After(pullHeartbeat):
		case <-ctx.Done():
			return st
		}
		if info, err = s.consumerInfo(ctx); err == nil && s.maybeStalled(info) {
			st.State = StateStalled
			st.Detail = fmt.Sprintf("no pull request waits on the server and nothing was delivered for over %s although %d of %d workers are free",
				stallGrace, s.cfg.concurrency-int(s.inFlight.Load()), s.cfg.concurrency)
		}
	}
	return st
}

func (s *Subscription) consumerInfo(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	c, err := s.b.js.Consumer(ctx, s.stream, s.consumer)
	if err != nil {
		return nil, err
	}
	return c.CachedInfo(), nil
}

// maybeStalled applies the stall rule to one observation.
func (s *Subscription) maybeStalled(info *jetstream.ConsumerInfo) bool {
	now := time.Now().UnixNano()
	quiet := func(ns int64) bool { return now-ns > int64(stallGrace) }
	return info.NumWaiting == 0 && int(s.inFlight.Load()) < s.cfg.concurrency &&
		quiet(s.lastDelivery.Load()) && quiet(s.consuming.Load())
}

// Health reports whether the bus works: nil when it is connected and every
// subscription is consuming; otherwise an error matching ErrUnhealthy that
// names what is wrong (disconnected, a consumer lost and being recreated, a
// subscription stalled). A group paused by its circuit breaker is not a
// problem here (restarting would not help); Status shows it. It asks the server about every subscription
// (Status), within ctx; use it for readiness and liveness probes. Safe for
// concurrent use.
func (b *Bus) Health(ctx context.Context) error {
	if b.closed.Load() || b.closing.Load() {
		return fmt.Errorf("%w: the bus is closed", ErrUnhealthy)
	}
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: not connected to NATS (%s); the client reconnects by itself", ErrUnhealthy, strings.ToLower(st.String()))
	}
	var problems []string
	for _, st := range b.Status(ctx) {
		if st.State != StateConsuming && st.State != StatePaused {
			problems = append(problems, fmt.Sprintf("%s is %s: %s", st.Consumer, st.State, st.Detail))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrUnhealthy, strings.Join(problems, "; "))
	}
	return nil
}
