package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// dependency is a downstream system the handlers call: down until
// recovered.
type dependency struct {
	down atomic.Bool

	mu        sync.Mutex
	runs      []breakerRun // every handler run, in start order
	succeeded map[int]int  // message N -> successful runs
}

type breakerRun struct {
	instance int
	id       string
}

func (d *dependency) handler(instance int) bus.Handler[signup] {
	return func(ctx context.Context, m *bus.Message[signup]) error {
		d.mu.Lock()
		d.runs = append(d.runs, breakerRun{instance: instance, id: m.Envelope.ID})
		d.mu.Unlock()
		if d.down.Load() {
			return errors.New("mail server unavailable (test)")
		}
		d.mu.Lock()
		d.succeeded[m.Data.N]++
		d.mu.Unlock()
		return nil
	}
}

func (d *dependency) runCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.runs)
}

func breakerStates(ctx context.Context, buses []*bus.Bus) []bus.BreakerState {
	var out []bus.BreakerState
	for _, b := range buses {
		for _, st := range b.Status(ctx) {
			out = append(out, st.Breaker)
		}
	}
	return out
}

func TestCircuitBreakerPausesEveryInstanceAndResumesAfterRecovery(t *testing.T) {
	const messages, instances = 100, 3
	srv := bustest.NewServer(t)
	dep := &dependency{succeeded: map[int]int{}}
	dep.down.Store(true)
	buses := make([]*bus.Bus, instances)
	for i := range buses {
		buses[i] = bustest.Connect(t, srv, bus.WithSource("mailer"))
		_, err := bus.HandleCommand(ctxT(t), buses[i], signupCmd, dep.handler(i),
			bus.WithCircuitBreaker(3, 300*time.Millisecond), bus.WithConcurrency(2),
			bus.WithMaxDeliver(4), bus.WithBackoff(time.Second))
		require.NoError(t, err)
	}
	for n := range messages {
		_, err := bus.Send(ctxT(t), buses[0], signupCmd, signup{N: n})
		require.NoError(t, err)
	}

	// The breaker opens: the consumer is paused on the server and every
	// instance knows it.
	eventually(t, 30*time.Second, func() bool {
		for _, st := range breakerStates(ctxT(t), buses) {
			if st != bus.BreakerOpen && st != bus.BreakerProbing {
				return false
			}
		}
		return true
	}, "every instance sees the breaker open")
	for _, b := range buses {
		for _, st := range b.Status(ctxT(t)) {
			require.Equal(t, bus.StatePaused, st.State, st.Detail)
		}
		require.NoError(t, b.Health(ctxT(t)), "a paused group is not a health problem")
	}

	// While open, only the probe runs, once per cool-down, on the instance
	// that opened the breaker.
	from := dep.runCount()
	eventually(t, 30*time.Second, func() bool { return dep.runCount() >= from+3 }, "the probe is retried after each cool-down")
	dep.mu.Lock()
	probes := dep.runs[from:]
	for _, r := range probes {
		require.Equal(t, probes[0], r, "only the probe may run while the breaker is open")
	}
	distinct := map[string]bool{}
	for _, r := range dep.runs {
		distinct[r.id] = true
	}
	dep.mu.Unlock()
	require.Less(t, len(distinct), messages/2, "most messages never left the stream while the dependency was down")
	require.Empty(t, bustest.DeadLetters(t, buses[0], bus.DeadLetterFilter{}), "nothing is dead-lettered while the breaker is open")

	// The dependency recovers: the probe succeeds, every instance resumes,
	// and every message is handled once.
	dep.down.Store(false)
	eventually(t, 60*time.Second, func() bool {
		dep.mu.Lock()
		defer dep.mu.Unlock()
		return len(dep.succeeded) == messages
	}, "every message handled after the recovery")
	eventually(t, 30*time.Second, func() bool {
		for _, st := range breakerStates(ctxT(t), buses) {
			if st != bus.BreakerClosed {
				return false
			}
		}
		return true
	}, "every instance sees the breaker closed")
	dep.mu.Lock()
	for n, c := range dep.succeeded {
		require.Equal(t, 1, c, "message %d handled %d times", n, c)
	}
	dep.mu.Unlock()
	require.Empty(t, bustest.DeadLetters(t, buses[0], bus.DeadLetterFilter{}))
}

func TestCircuitBreakerOptionsAreValidated(t *testing.T) {
	b := bustest.New(t)
	h := func(context.Context, *bus.Message[signup]) error { return nil }
	for _, opt := range []bus.SubscribeOption{
		bus.WithCircuitBreaker(0, time.Second),
		bus.WithCircuitBreaker(3, time.Millisecond),
		bus.WithCircuitBreaker(3, time.Second, bus.BreakOn(nil)),
	} {
		_, err := bus.HandleCommand(ctxT(t), b, signupCmd, h, opt)
		require.ErrorIs(t, err, bus.ErrInvalidOption)
	}
}

func TestCircuitBreakerCountsOnlyWhatBreakOnSays(t *testing.T) {
	b := bustest.New(t)
	errUnavailable := errors.New("unavailable (test)")
	var runs atomic.Int32
	_, err := bus.HandleCommand(ctxT(t), b, signupCmd, func(ctx context.Context, m *bus.Message[signup]) error {
		runs.Add(1)
		if m.Data.N%2 == 0 {
			return bus.Permanent(errors.New("poison (test)")) // the message's fault: never counts
		}
		return errors.New("invalid address (test)") // not errUnavailable: does not count
	}, bus.WithCircuitBreaker(2, time.Second, bus.BreakOn(func(err error) bool { return errors.Is(err, errUnavailable) })),
		bus.WithMaxDeliver(1))
	require.NoError(t, err)
	for n := range 6 {
		_, err := bus.Send(ctxT(t), b, signupCmd, signup{N: n})
		require.NoError(t, err)
	}
	bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{}, 6)
	for _, st := range b.Status(ctxT(t)) {
		require.Equal(t, bus.BreakerClosed, st.Breaker)
		require.Equal(t, bus.StateConsuming, st.State)
	}
	require.EqualValues(t, 6, runs.Load())
}
