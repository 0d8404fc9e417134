package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// Redelivery storm: a downstream dependency is out for a while, so every
// handler run fails. Each failed message must come back no sooner than its
// back-off says (no bare Nak loop that burns through WithMaxDeliver in
// milliseconds), none may be dead-lettered while the back-off still
// outlasts the outage, and all are handled once it ends. A few messages
// fail for good: they reach the dead-letter queue only after the whole
// back-off sequence.
func TestChaosRedeliveryStorm(t *testing.T) {
	t.Parallel()
	n := sized(200, 2000)
	const outage = 2500 * time.Millisecond
	const maxDeliver = 8
	backoff := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	delayBefore := func(attempt int) time.Duration { // the back-off after attempt-1 failed
		return backoff[min(attempt-1, len(backoff))-1]
	}
	var fullBackoff time.Duration // from the first to the last allowed attempt
	for a := 2; a <= maxDeliver; a++ {
		fullBackoff += delayBefore(a)
	}
	require.Greater(t, fullBackoff, outage, "the test needs a back-off that outlasts the outage")
	isDoomed := func(seq int) bool { return seq%50 == 0 } // fails even after the outage

	ctx := testContext(t, 5*time.Minute)
	srv := bustest.NewServer(t)
	const ns = "storm"
	l := newLedger(n)
	var mu sync.Mutex
	attempts := map[string][]time.Time{} // message id -> when each attempt ran
	var outageEnd time.Time              // set when the first delivery arrives
	errDownstream := errors.New("downstream unavailable")
	worker := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("worker"))
	sub, err := bus.Subscribe(ctx, worker, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		now := time.Now()
		mu.Lock()
		if outageEnd.IsZero() {
			outageEnd = now.Add(outage)
		}
		at := append(attempts[m.Envelope.ID], now)
		attempts[m.Envelope.ID] = at
		down := now.Before(outageEnd)
		mu.Unlock()
		if len(at) != m.Attempt {
			return bus.Permanent(fmt.Errorf("attempt %d is the %d-th run of %s", m.Attempt, len(at), m.Envelope.ID))
		}
		if down || isDoomed(m.Data.Seq) {
			return errDownstream
		}
		l.effect(m.Envelope.ID, "worker", 0)
		return nil
	}, bus.WithConcurrency(8), bus.WithMaxDeliver(maxDeliver), bus.WithBackoff(backoff...), bus.WithAckWait(5*time.Second))
	require.NoError(t, err)
	pub := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("publisher"))
	for seq := range n {
		r, err := bus.Publish(ctx, pub, orderPlaced, order{Seq: seq})
		require.NoError(t, err)
		l.ack(r.ID, seq)
	}

	healthy := func(seq int) bool { return !isDoomed(seq) }
	waitUntil(t, 2*time.Minute, func() bool { return l.lostWhere(healthy) == 0 },
		func() string { return fmt.Sprintf("%d messages not handled after the outage", l.lostWhere(healthy)) })
	doomed := l.countWhere(isDoomed)
	var dead []bus.DeadLetter
	waitUntil(t, 2*time.Minute, func() bool {
		dead, err = allDeadLetters(ctx, worker)
		return err == nil && len(dead) >= doomed
	}, func() string {
		return fmt.Sprintf("%d of %d failing messages dead-lettered (%v)", len(dead), doomed, err)
	})
	settled(t, worker, eventStream(ns), sub.Consumer(), time.Minute)
	dead, err = allDeadLetters(ctx, worker)
	require.NoError(t, err)

	// Every gap between two attempts of a message is at least its back-off
	// (less a little timer slack); the doomed reach the dead-letter queue
	// only after the whole sequence.
	const slack = 20 * time.Millisecond
	mu.Lock()
	defer mu.Unlock()
	total, most := 0, 0
	minRatio := 1e9
	var earliestGiveUp time.Duration = 1 << 62
	for id, at := range attempts {
		total += len(at)
		most = max(most, len(at))
		for a := 2; a <= len(at); a++ {
			gap, want := at[a-1].Sub(at[a-2]), delayBefore(a)
			require.GreaterOrEqual(t, gap, want-slack, "message %s: attempt %d came %s after attempt %d; the back-off is %s", id, a, gap, a-1, want)
			minRatio = min(minRatio, float64(gap)/float64(want))
		}
		seq, _ := l.seqOf(id)
		if isDoomed(seq) {
			require.Len(t, at, maxDeliver, "message %d failed for good: it gets exactly max deliver attempts", seq)
			earliestGiveUp = min(earliestGiveUp, at[len(at)-1].Sub(at[0]))
		}
	}
	cnt := l.counts()
	report(t, "redelivery-storm",
		"messages", n,
		"fault", fmt.Sprintf("every handler run fails for %s; %d messages fail for good", outage, doomed),
		"acked", cnt.acked,
		"handled", cnt.handled,
		"lost", l.lostWhere(healthy),
		"dup_effects", cnt.dupEffects,
		"dead_letters", len(dead),
		"attempts", total,
		"most_attempts", most,
		"min_gap_over_backoff", fmt.Sprintf("%.2f", minRatio),
		"first_to_last_attempt_of_doomed_min", earliestGiveUp,
		"full_backoff", fullBackoff,
	)
	require.Equal(t, doomed, len(dead), "only the messages that fail for good are dead-lettered")
	require.GreaterOrEqual(t, earliestGiveUp, fullBackoff-slack*maxDeliver, "a message was given up on before its back-off ran out")
	require.Zero(t, cnt.dupEffects)
}
