package reliability_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// Instance crash: two instances of one subscriber group share a stream of
// events. Half-way through, instance A's handlers hang (the process is
// stuck), and then its connection is cut without Close, as when the
// process dies: every message it held, in handlers or in its client
// buffer, unacknowledged, must be handled by instance B once the ack wait
// has passed. Nothing is lost.
func TestChaosInstanceCrash(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	n := sized(300, 3000)
	const ackWait = 2 * time.Second
	const concurrency = 8
	srv := bustest.NewServer(t)
	opts := []bus.Option{bus.WithNamespace("instancecrash")}
	stream := eventStream("instancecrash")
	l := newLedger(n)
	sopts := []bus.SubscribeOption{bus.WithConcurrency(concurrency), bus.WithAckWait(ackWait), bus.WithMaxDeliver(10)}

	// Instance A: handles the first half, then takes messages and never
	// finishes them. A dead process does not Close its bus, so neither does
	// the test; its stuck handlers are let go when the test ends.
	a := dial(t, srv.ClientURL(), append(opts, bus.WithSource("worker-a"))...)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var heldMu sync.Mutex
	held := map[string]time.Time{}
	_, err := bus.Subscribe(ctx, a, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		if m.Data.Seq < n/2 { // healthy for the first half of the run
			l.effect(m.Envelope.ID, "a", m.Data.SentAt)
			return nil
		}
		heldMu.Lock()
		held[m.Envelope.ID] = time.Now()
		heldMu.Unlock()
		<-release // stuck; the bus cannot ack what never returns
		return nil
	}, sopts...)
	require.NoError(t, err)

	// Instance B: healthy. It records when it handled each message.
	b := connect(t, srv.ClientURL(), append(opts, bus.WithSource("worker-b"))...)
	var handledMu sync.Mutex
	handledAt := map[string]time.Time{}
	sub, err := bus.Subscribe(ctx, b, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		l.effect(m.Envelope.ID, "b", m.Data.SentAt)
		handledMu.Lock()
		handledAt[m.Envelope.ID] = time.Now()
		handledMu.Unlock()
		return nil
	}, sopts...)
	require.NoError(t, err)

	pub := connect(t, srv.ClientURL(), append(opts, bus.WithSource("publisher"))...)
	p := &publisher{b: pub, l: l, rate: sized(300.0, 1000.0), workers: 4, attemptTimeout: 5 * time.Second}
	require.NoError(t, p.run(ctx, n))

	// A holds as many messages as it has handlers; cut it off.
	heldCount := func() int { heldMu.Lock(); defer heldMu.Unlock(); return len(held) }
	waitUntil(t, time.Minute, func() bool { return heldCount() >= concurrency },
		func() string { return fmt.Sprintf("instance A holds %d messages, want %d", heldCount(), concurrency) })
	cutAt := time.Now()
	a.Conn().Close() // no Close(): no drain, no nak, no ack

	waitUntil(t, 2*time.Minute, l.allHandled, func() string {
		return fmt.Sprintf("%d acknowledged messages never handled", l.counts().lost)
	})
	settled(t, b, stream, sub.Consumer(), time.Minute)

	heldMu.Lock()
	handledMu.Lock()
	var redeliveredAfter []time.Duration
	for id, at := range held {
		h, ok := handledAt[id]
		require.True(t, ok, "message %s held by the crashed instance was never handled by the other", id)
		// Redelivery waits for the ack wait from A's delivery, not from the
		// cut.
		require.GreaterOrEqual(t, h.Sub(at), ackWait-100*time.Millisecond,
			"message %s redelivered %s after A got it, before the %s ack wait", id, h.Sub(at), ackWait)
		redeliveredAfter = append(redeliveredAfter, h.Sub(at))
	}
	stuck := len(held)
	var lastHeld time.Time // when B handled the last message A had held
	for id := range held {
		if h := handledAt[id]; h.After(lastHeld) {
			lastHeld = h
		}
	}
	handledMu.Unlock()
	heldMu.Unlock()

	cnt := l.counts()
	report(t, "instance-crash",
		"messages", n,
		"fault", "half-way, instance A's handlers hang, then its connection is closed without Close",
		"held_by_crashed", stuck,
		"acked", cnt.acked,
		"handled", cnt.handled,
		"handled_by_a", l.perInstance("a"),
		"handled_by_b", l.perInstance("b"),
		"lost", cnt.lost,
		"dup_effects", cnt.dupEffects,
		"ack_wait", ackWait,
		"held_handled_by_b_after_min", percentile(redeliveredAfter, 0),
		"held_handled_by_b_after_max", percentile(redeliveredAfter, 100),
		"last_held_handled_after_cut", lastHeld.Sub(cutAt),
	)
	require.Equal(t, n, cnt.acked)
	require.Zero(t, cnt.lost)
	require.Zero(t, cnt.dupEffects, "A never finished the handlers it held, so B alone had their effects")
	require.Positive(t, l.perInstance("a"), "instance A handled nothing before it hung")
}

// Closing a bus whose connection was cut while a dispatch was waiting for a
// free handler must neither race nor panic. The race detector (go test
// -race) used to report the close of the bus's work channel against the
// pending send; this is its regression test.
func TestChaosCloseAfterConnectionLost(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, time.Minute)
	srv := bustest.NewServer(t)
	b := dial(t, srv.ClientURL(), bus.WithNamespace("closelost"), bus.WithSource("worker"))
	release := make(chan struct{})
	var got sync.WaitGroup
	got.Add(1)
	var once sync.Once
	_, err := bus.Subscribe(ctx, b, orderPlaced, "effects", func(context.Context, *bus.Message[order]) error {
		once.Do(got.Done)
		<-release
		return nil
	}, bus.WithConcurrency(1), bus.WithAckWait(time.Second))
	require.NoError(t, err)
	for i := range 3 { // one in the handler, one waiting in dispatch
		_, err := bus.Publish(ctx, b, orderPlaced, order{Seq: i})
		require.NoError(t, err)
	}
	got.Wait()
	time.Sleep(100 * time.Millisecond) // let the second reach dispatch
	b.Conn().Close()
	// Close while the handler is still stuck and the dispatch still waits;
	// the handler returns a little later, so Close can finish.
	go func() {
		time.Sleep(300 * time.Millisecond)
		close(release)
	}()
	closeBus(t, b)
}
