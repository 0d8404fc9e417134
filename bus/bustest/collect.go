package bustest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// Timeout bounds every wait of this package (Collector.Wait,
// WaitDeadLetter): long enough for a loaded CI machine, short enough that a
// missing message fails the test rather than its deadline.
const Timeout = 30 * time.Second

// Collector gathers the events of one topic, as a subscriber group of its
// own sees them, so a test can wait for what its services publish. Its
// methods are safe for concurrent use and fail the test, from the calling
// test's line, when what they wait for does not happen.
type Collector[T any] struct {
	tb   testing.TB
	mu   sync.Mutex
	msgs []*bus.Message[T]
	wake chan struct{} // signalled on every new message
}

var collectors atomic.Int64

// Collect subscribes a fresh subscriber group to evt on b and records every
// event it receives (every event still retained in the stream, and every
// later one). The subscription is stopped with tb.Cleanup.
//
//	signedUp := bustest.Collect(t, b, topics.UserSignedupV1Event)
//	// ... send the command the service under test handles ...
//	got := signedUp.Wait(1)
//	require.Equal(t, "ada@example.com", got[0].Data.Email)
func Collect[T any](tb testing.TB, b *bus.Bus, evt topic.Event[T], opts ...bus.SubscribeOption) *Collector[T] {
	tb.Helper()
	c := &Collector[T]{tb: tb, wake: make(chan struct{}, 1)}
	group := fmt.Sprintf("bustest-collect-%d", collectors.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	sub, err := bus.Subscribe(ctx, b, evt, group, func(_ context.Context, m *bus.Message[T]) error {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return nil
	}, opts...)
	if err != nil {
		tb.Fatalf("choreo/bustest: collecting %s: %v", evt.Name(), err)
	}
	tb.Cleanup(sub.Stop)
	return c
}

// All returns the events received so far, in arrival order.
func (c *Collector[T]) All() []*bus.Message[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*bus.Message[T](nil), c.msgs...)
}

// Wait waits until at least n events have arrived and returns the first n.
// It fails the test if they do not arrive within Timeout.
func (c *Collector[T]) Wait(n int) []*bus.Message[T] {
	c.tb.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		if all := c.All(); len(all) >= n {
			return all[:n]
		}
		select {
		case <-c.wake:
		case <-deadline.C:
			c.tb.Fatalf("choreo/bustest: waited %s for %d events, %d arrived", Timeout, n, len(c.All()))
			return nil
		}
	}
}

// NoMore fails the test if more than the n events already waited for
// arrive within d. Use it after Wait(n) to check that something happened
// once: d is how long "nothing more" is watched for, so keep it short (a
// second covers a redelivery after a lost acknowledgement in tests).
func (c *Collector[T]) NoMore(n int, d time.Duration) {
	c.tb.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if got := len(c.All()); got > n {
			c.tb.Fatalf("choreo/bustest: expected no more than %d events, %d arrived", n, got)
			return
		}
		select {
		case <-c.wake:
		case <-deadline.C:
			if got := len(c.All()); got > n {
				c.tb.Fatalf("choreo/bustest: expected no more than %d events, %d arrived", n, got)
			}
			return
		}
	}
}

// DeadLetters returns the dead letters of b's namespace that match f,
// oldest first, failing the test on error.
func DeadLetters(tb testing.TB, b *bus.Bus, f bus.DeadLetterFilter) []bus.DeadLetter {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var out []bus.DeadLetter
	for dl, err := range b.DeadLetters(ctx, f) {
		if err != nil {
			tb.Fatalf("choreo/bustest: reading dead letters: %v", err)
		}
		out = append(out, dl)
	}
	return out
}

// WaitDeadLetters waits until at least n dead letters match f and returns
// them (all that match, oldest first). It fails the test if they do not
// appear within Timeout.
func WaitDeadLetters(tb testing.TB, b *bus.Bus, f bus.DeadLetterFilter, n int) []bus.DeadLetter {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		dls := DeadLetters(tb, b, f)
		if len(dls) >= n {
			return dls
		}
		if time.Now().After(deadline) {
			tb.Fatalf("choreo/bustest: waited %s for %d dead letters matching %+v, found %d", Timeout, n, f, len(dls))
			return nil
		}
		time.Sleep(delay) // polling the server: dead letters have no push notification
	}
}
