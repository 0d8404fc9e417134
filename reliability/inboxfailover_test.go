package reliability_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/idempotency"
)

// The inbox's leader node crashes right after a handler had its effect and
// before the middleware recorded the key as done; the same node leads the
// subscriber group's consumer, so the acknowledgement is lost as well and
// the message comes back after the ack wait. Exactly-once effect requires
// the done record to be written once the inbox has a new leader, within the
// lease, so that the redelivery is acknowledged without running the handler.
//
// (Regression test: the middleware used to try Complete once, so the effect
// happened twice here.)
func TestChaosInboxFailoverAfterEffect(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	c := startCluster(t, 3)
	const ns, inbox = "inboxfailover", "inboxfailover_inbox"
	const lease = 15 * time.Second // longer than a failover of the inbox
	stream := eventStream(ns)
	b := connect(t, c.ClientURLs(), bus.WithNamespace(ns), bus.WithReplicas(3), bus.WithSource("worker"))
	store, err := idempotency.NewKVStore(ctx, b.JetStream(), inbox, idempotency.WithReplicas(3))
	require.NoError(t, err)

	var effects atomic.Int32
	var crashed atomic.Bool
	var crashOnce sync.Once
	victim := -1
	sub, err := bus.Subscribe(ctx, b, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		effects.Add(1)
		crashOnce.Do(func() {
			// The effect has happened; now the node leading the inbox and
			// the consumer goes away before the middleware records it.
			if err := c.CrashNode(victim); err != nil {
				t.Errorf("crashing node %d: %v", victim, err)
			}
			crashed.Store(true)
		})
		return nil
	}, bus.WithAckWait(lease), bus.WithMaxDeliver(20), bus.WithBackoff(200*time.Millisecond),
		bus.Use(idempotency.Middleware(store, idempotency.WithLease(lease), idempotency.WithBusyDelay(200*time.Millisecond))))
	require.NoError(t, err)

	victim, err = c.WaitForStream(ctx, stream)
	require.NoError(t, err)
	moveLeader(t, b, "CONSUMER.LEADER.STEPDOWN."+stream+"."+sub.Consumer(), c.Name(victim),
		func() bool { return c.ConsumerLeader(stream, sub.Consumer()) == victim })
	moveLeader(t, b, "STREAM.LEADER.STEPDOWN.KV_"+inbox, c.Name(victim),
		func() bool { return c.StreamLeader("KV_"+inbox) == victim })

	_, err = bus.Publish(ctx, b, orderPlaced, order{Seq: 1})
	require.NoError(t, err)
	waitUntil(t, time.Minute, func() bool { return crashed.Load() }, func() string { return "the handler never ran" })
	require.NoError(t, c.RestartNode(ctx, victim))
	settled(t, b, stream, sub.Consumer(), 2*time.Minute)

	report(t, "inbox-failover-after-effect", "messages", 1, "effects", effects.Load())
	require.EqualValues(t, 1, effects.Load(), "the handler's effect happened %d times", effects.Load())
}
