package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
)

// Poison share: a tenth of the messages can never be handled. Half of them
// say so (bus.Permanent: dead-lettered at once), the other half just fail
// every time (dead-lettered after WithMaxDeliver attempts, back-off in
// between). Exactly those are dead-lettered, every healthy message is
// handled, and the healthy ones are not held up: their latency from
// publish to handler stays close to a run without poison.
func TestChaosPoisonShare(t *testing.T) {
	// Not parallel with other tests: it compares latencies. The baseline
	// (no poison) runs at the same time as the poisoned run, on the same
	// server, so that whatever else loads the machine loads both alike.
	srv := bustest.NewServer(t)
	var base, withPoison poisonRun
	t.Run("runs", func(t *testing.T) {
		t.Run("baseline", func(t *testing.T) {
			t.Parallel()
			base = runPoison(t, srv, "poisonbaseline", false)
		})
		t.Run("poison", func(t *testing.T) {
			t.Parallel()
			withPoison = runPoison(t, srv, "poison", true)
		})
	})
	if t.Failed() {
		return
	}
	report(t, "poison-share",
		"messages", withPoison.messages,
		"fault", "10% always fail: half Permanent, half plain errors until max deliver (3)",
		"acked", withPoison.acked,
		"poison", withPoison.poison,
		"dead_letters", withPoison.deadLetters,
		"healthy_handled", withPoison.healthyHandled,
		"lost", withPoison.lost,
		"dup_effects", withPoison.dupEffects,
		"healthy_p50", withPoison.p50,
		"healthy_p99", withPoison.p99,
		"baseline_p50", base.p50,
		"baseline_p99", base.p99,
		"publish_time", withPoison.publishTime,
		"baseline_publish_time", base.publishTime,
	)
	require.Zero(t, withPoison.lost, "healthy messages were lost")
	require.Equal(t, withPoison.poison, withPoison.deadLetters, "every poison message, and nothing else, is dead-lettered")
	require.Zero(t, base.deadLetters)
	// A healthy message queued behind a failing one would wait for its
	// back-off (100ms + 200ms before it is given up on); one that is not
	// stays within noise of the baseline.
	require.Less(t, withPoison.p99, base.p99+poisonBackoff,
		"healthy p99 %s against %s without poison: held up by the failing messages", withPoison.p99, base.p99)
}

// poisonBackoff is the back-off a poison message that fails with a plain
// error goes through before it is dead-lettered.
const poisonBackoff = 300 * time.Millisecond

// poisonWindow is how many healthy messages a run's publisher may have
// published and not yet seen handled: four per handler.
const poisonWindow = 16

type poisonRun struct {
	messages, acked, poison, deadLetters, healthyHandled, lost, dupEffects int
	p50, p99, publishTime                                                  time.Duration
}

// errPoison is what a poison message's handler returns.
var errPoison = errors.New("this order can never be processed")

func runPoison(t *testing.T, srv *embedded.Server, ns string, poison bool) poisonRun {
	n := sized(1000, 10000)
	ctx := testContext(t, sized(5*time.Minute, 30*time.Minute))
	l := newLedger(n)
	isPoison := func(seq int) bool { return poison && seq%10 == 0 }
	// At most poisonWindow healthy messages are published and not yet
	// handled. On a machine too busy for the rate, an open-loop publisher
	// would build a queue that grows for the whole run, and the latencies
	// compared would be that queue's (longer in the run with more work per
	// message), not the bus's; with the window the runs slow down instead.
	window := make(chan struct{}, poisonWindow)
	admit := func(ctx context.Context, seq int) error {
		if isPoison(seq) {
			return nil
		}
		select {
		case window <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return fmt.Errorf("%d healthy messages published a minute ago are still not handled", poisonWindow)
		}
	}
	worker := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("worker"))
	sub, err := bus.Subscribe(ctx, worker, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		switch {
		case !isPoison(m.Data.Seq):
			if l.effect(m.Envelope.ID, "worker", m.Data.SentAt) {
				<-window
			}
			return nil
		case m.Data.Seq%20 == 0:
			return bus.Permanent(errPoison)
		default:
			return errPoison
		}
	}, bus.WithConcurrency(4), bus.WithMaxDeliver(3), bus.WithBackoff(100*time.Millisecond, 200*time.Millisecond))
	require.NoError(t, err)
	pub := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("publisher"))
	p := &publisher{b: pub, l: l, rate: sized(200.0, 400.0), workers: 4, attemptTimeout: 5 * time.Second, admit: admit}
	start := time.Now()
	require.NoError(t, p.run(ctx, n))
	publishTime := time.Since(start)

	healthyLost := func() int { return l.lostWhere(func(seq int) bool { return !isPoison(seq) }) }
	waitUntil(t, 2*time.Minute, func() bool { return healthyLost() == 0 },
		func() string { return fmt.Sprintf("%d healthy messages not handled", healthyLost()) })
	poisonCount := l.countWhere(isPoison)
	var dead []bus.DeadLetter
	waitUntil(t, 2*time.Minute, func() bool {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		dead, err = allDeadLetters(dctx, worker)
		return err == nil && len(dead) >= poisonCount
	}, func() string {
		return fmt.Sprintf("%d of %d poison messages dead-lettered (%v)", len(dead), poisonCount, err)
	})
	settled(t, worker, eventStream(ns), sub.Consumer(), time.Minute)
	dead, err = allDeadLetters(ctx, worker)
	require.NoError(t, err)
	for _, dl := range dead {
		require.NotNil(t, dl.Envelope)
		seq, ok := l.seqOf(dl.Envelope.ID)
		require.True(t, ok, "dead letter %s was never published", dl.Envelope.ID)
		require.True(t, isPoison(seq), "healthy message %d was dead-lettered: %s", seq, dl.Reason)
	}

	cnt := l.counts()
	lat := l.latencies()
	return poisonRun{
		messages: n, acked: cnt.acked, poison: poisonCount, deadLetters: len(dead),
		healthyHandled: cnt.handled, lost: healthyLost(), dupEffects: cnt.dupEffects,
		p50: percentile(lat, 50), p99: percentile(lat, 99), publishTime: publishTime,
	}
}
