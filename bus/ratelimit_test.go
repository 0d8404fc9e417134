package bus_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

// starts records when handlers started and on which attempt.
type starts struct {
	mu       sync.Mutex
	at       []time.Time
	attempts map[int][]int // by N
}

func newStarts() *starts { return &starts{attempts: map[int][]int{}} }

func (s *starts) record(n, attempt int) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.attempts[n] = append(s.attempts[n], attempt)
	s.mu.Unlock()
}

func (s *starts) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

func TestRateLimitBoundsHandlerStartsOverAMeasuredWindow(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	const n, perSecond, burst = 60, 20.0, 5
	for i := range n {
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	rec := newStarts()
	t0 := time.Now() // before the subscription exists: the window can only be longer than the limiter's
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "limited", func(_ context.Context, m *bus.Message[signedUp]) error {
		rec.record(m.Data.N, m.Attempt)
		return nil
	}, bus.WithRateLimit(perSecond, burst), bus.WithConcurrency(4), bus.WithPrefetch(64))
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() bool { return rec.count() == n }, "not every message was handled")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	slices.SortFunc(rec.at, func(a, b time.Time) int { return a.Compare(b) })
	for k, at := range rec.at {
		window := at.Sub(t0).Seconds()
		require.LessOrEqual(t, float64(k+1), perSecond*window+burst,
			"%d handlers started within %.3fs of subscribing; the limit allows %.1f", k+1, window, perSecond*window+burst)
	}
	span := rec.at[n-1].Sub(rec.at[0]).Seconds()
	t.Logf("%d handlers in %.2fs: %.1f/s beyond the burst (limit %.0f/s, burst %d)", n, span, float64(n-burst)/span, perSecond, burst)
	for i := range n {
		require.Equal(t, []int{1}, rec.attempts[i], "message %d", i)
	}
}

func TestRateLimitedMessagesDoNotOutliveTheirAckWait(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	ctx := ctxT(t)
	// Two instances at 1/s each take about four seconds for eight
	// commands. Had an instance fetched its whole prefetch (8) before
	// taking tokens, the commands waiting in it would outlive the 2 s ack
	// wait and the server would hand them to the other instance: a
	// second attempt.
	const n = 8
	for i := range n {
		_, err := bus.Send(ctx, sender, signupCmd, signup{N: i})
		require.NoError(t, err)
	}
	rec := newStarts()
	for range 2 {
		b := bustest.Connect(t, srv, bus.WithSource("accounts"))
		_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
			rec.record(m.Data.N, m.Attempt)
			return nil
		}, bus.WithRateLimit(1, 1), bus.WithPrefetch(n), bus.WithAckWait(2*time.Second))
		require.NoError(t, err)
	}
	eventually(t, 30*time.Second, func() bool { return rec.count() >= n }, "not every command was handled")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := range n {
		require.Equal(t, []int{1}, rec.attempts[i], "command %d was delivered again while it waited for its turn", i)
	}
}

func TestRateLimitedSubscriptionRecreatesItsLostConsumer(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	seen := newCounter()
	sub, err := bus.Subscribe(ctx, b, signedUpEvt, "limited", func(_ context.Context, m *bus.Message[signedUp]) error {
		seen.add(m.Data.N, "x")
		return nil
	}, bus.WithRateLimit(100, 10))
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 0})
	require.NoError(t, err)
	seen.waitDistinct(t, 1, 20*time.Second)

	require.NoError(t, b.JetStream().DeleteConsumer(ctx, topic.Stream("", topic.KindEvent, "user"), sub.Consumer()))
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1})
	require.NoError(t, err)
	seen.waitDistinct(t, 2, 30*time.Second)
}

func TestRateLimitRejectsNonsense(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	h := func(context.Context, *bus.Message[signedUp]) error { return nil }
	for _, opt := range []bus.SubscribeOption{bus.WithRateLimit(0, 1), bus.WithRateLimit(-1, 1), bus.WithRateLimit(10, 0)} {
		_, err := bus.Subscribe(ctx, b, signedUpEvt, "limited", h, opt)
		require.ErrorIs(t, err, bus.ErrInvalidOption)
	}
}

func TestSlowRateLimitIsNotReportedAsStalled(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	seen := newCounter()
	// One message every 30 s: the second waits for its token far longer
	// than a pull request lives, with no request on the server meanwhile.
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "slow", func(_ context.Context, m *bus.Message[signedUp]) error {
		seen.add(m.Data.N, "x")
		return nil
	}, bus.WithRateLimit(1.0/30, 1))
	require.NoError(t, err)
	for i := range 2 {
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	seen.waitDistinct(t, 1, 20*time.Second)
	waited := time.Now()
	// Past the point where a subscription without a pull request and
	// without deliveries counts as stalled (pull expiry + two heartbeats).
	for time.Since(waited) < 13*time.Second {
		time.Sleep(500 * time.Millisecond)
	}
	require.Equal(t, 1, seen.total(), "the rate limit let the second message through early")
	require.NoError(t, b.Health(ctx), "a subscription waiting for its rate limit is healthy")
	st := b.Status(ctx)
	require.Len(t, st, 1)
	require.Equal(t, bus.StateConsuming, st[0].State)
	require.Equal(t, uint64(1), st[0].Pending, "the waiting message stays on the server")
}
