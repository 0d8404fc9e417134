package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/idempotency"
)

// Leader loss: on a 3-node cluster with every stream, consumer and the
// dedupe bucket replicated three times, events are published at a steady
// rate while two instances of one subscriber group handle them. A third of
// the way in, the node leading the event stream goes away, either shut
// down (it hands its leaderships over first) or crashed (cut off at once;
// the others elect a new leader after their election timeout); two thirds
// in, once a new leader is serving, it is started again. Every publish
// that returned success must be handled. Without the idempotency
// middleware, redeliveries may repeat an effect (counted); with it, none
// may.
func TestChaosLeaderLoss(t *testing.T) {
	// Not parallel: the three servers and five clients use both cores.
	c := startCluster(t, 3)
	for _, fault := range []string{"stop", "crash"} {
		for _, dedupe := range []bool{false, true} {
			name := fault + "/without_dedupe"
			if dedupe {
				name = fault + "/with_dedupe"
			}
			t.Run(name, func(t *testing.T) { runLeaderLoss(t, c, fault, dedupe) })
		}
	}
}

func runLeaderLoss(t *testing.T, c *embedded.Cluster, fault string, dedupe bool) {
	n := sized(1500, 10000)
	rate := sized(250.0, 400.0)
	ctx := testContext(t, sized(5*time.Minute, 30*time.Minute))
	ns := "leaderloss" + fault
	if dedupe {
		ns += "dedupe"
	}
	inbox := ns + "_inbox"
	stream := eventStream(ns)
	opts := []bus.Option{bus.WithNamespace(ns), bus.WithReplicas(3)}
	// The lease (= ack wait) outlasts a failover of the inbox (an election
	// takes up to ~10s): a shorter one can lapse while the store is away.
	const ackWait = 15 * time.Second

	l := newLedger(n)
	progress := progressLog{at: make([]time.Time, 0, n)}
	var consumer string
	for _, instance := range []string{"a", "b"} {
		b := connect(t, c.ClientURLs(), append(opts, bus.WithSource("worker-"+instance))...)
		sopts := []bus.SubscribeOption{
			bus.WithConcurrency(4), bus.WithAckWait(ackWait),
			// Failover can take a message through several deliveries (and
			// the middleware's busy retries count too); none should be
			// dead-lettered for it.
			bus.WithMaxDeliver(50), bus.WithBackoff(100*time.Millisecond, 500*time.Millisecond, time.Second),
		}
		if dedupe {
			store, err := idempotency.NewKVStore(ctx, b.JetStream(), inbox, idempotency.WithReplicas(3))
			require.NoError(t, err)
			sopts = append(sopts, bus.Use(idempotency.Middleware(store,
				idempotency.WithLease(ackWait), idempotency.WithBusyDelay(200*time.Millisecond))))
		}
		sub, err := bus.Subscribe(ctx, b, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
			if l.effect(m.Envelope.ID, instance, m.Data.SentAt) {
				progress.tick() // first effects only: a pause is time no new message was handled
			}
			return nil
		}, sopts...)
		require.NoError(t, err)
		consumer = sub.Consumer()
	}
	pub := connect(t, c.ClientURLs(), append(opts, bus.WithSource("publisher"))...)
	_, err := c.WaitForStream(ctx, stream)
	require.NoError(t, err)

	p := &publisher{b: pub, l: l, rate: rate, workers: 8, attemptTimeout: 2 * time.Second}
	published := make(chan error, 1)
	start := time.Now()
	go func() { published <- p.run(ctx, n) }()

	// The fault: the stream leader goes away a third of the way in and
	// comes back two thirds in, once another node leads the stream.
	runFor := time.Duration(float64(n) / rate * float64(time.Second))
	time.Sleep(runFor / 3)
	victim := c.StreamLeader(stream)
	require.GreaterOrEqual(t, victim, 0, "no leader for %s", stream)
	// The worst case: the victim leads the group's consumer (whose acks it
	// replicates) and the dedupe inbox too.
	moveLeader(t, pub, "CONSUMER.LEADER.STEPDOWN."+stream+"."+consumer, c.Name(victim),
		func() bool { return c.ConsumerLeader(stream, consumer) == victim })
	if dedupe {
		moveLeader(t, pub, "STREAM.LEADER.STEPDOWN.KV_"+inbox, c.Name(victim),
			func() bool { return c.StreamLeader("KV_"+inbox) == victim })
	}
	consumerLeader := c.ConsumerLeader(stream, consumer)
	inboxLeader := c.StreamLeader("KV_" + inbox)
	ackedAtStop, stoppedAt := l.ackedCount(), time.Now()
	if fault == "crash" {
		require.NoError(t, c.CrashNode(victim))
	} else {
		require.NoError(t, c.StopNode(victim))
	}
	newLeader := -1
	waitUntil(t, time.Minute, func() bool {
		newLeader = c.StreamLeader(stream)
		return newLeader >= 0
	}, func() string { return "no new leader for " + stream })
	elected := time.Since(stoppedAt)
	if d := time.Until(start.Add(2 * runFor / 3)); d > 0 {
		time.Sleep(d)
	}
	require.NoError(t, c.RestartNode(ctx, victim))
	restartedAt := time.Now()
	ackedAtRestart := l.ackedCount()

	require.NoError(t, <-published)
	publishTime := time.Since(start)
	t.Logf("published in %s", publishTime.Round(time.Millisecond))
	waitUntil(t, 3*time.Minute, l.allHandled, func() string {
		cnt := l.counts()
		return fmt.Sprintf("%d of %d acknowledged messages never handled", cnt.lost, cnt.acked)
	})
	t.Logf("all handled after %s", time.Since(start).Round(time.Millisecond))
	_, err = c.WaitForStream(ctx, stream)
	require.NoError(t, err)
	t.Logf("stream current after %s", time.Since(start).Round(time.Millisecond))
	settled(t, pub, stream, consumer, 2*time.Minute)
	t.Logf("settled after %s", time.Since(start).Round(time.Millisecond))
	dead := deadLetterCount(t, pub)

	cnt := l.counts()
	lat := l.latencies()
	report(t, "leader-loss",
		"dedupe", dedupe,
		"messages", n,
		"fault", fault,
		"fault_detail", fmt.Sprintf("stream leader node %d (also consumer leader: %t, inbox leader: %t) out at %d acked, new leader node %d after %s, restarted %s after the fault at %d acked",
			victim, consumerLeader == victim, inboxLeader == victim, ackedAtStop, newLeader, elected.Round(100*time.Millisecond),
			restartedAt.Sub(stoppedAt).Round(100*time.Millisecond), ackedAtRestart),
		"acked", cnt.acked,
		"handled", cnt.handled,
		"lost", cnt.lost,
		"dup_effects", cnt.dupEffects,
		"dead_letters", dead,
		"failed_publish_attempts", p.failedAttempts.Load(),
		"slowest_ack", time.Duration(p.slowest.Load()),
		"longest_handling_pause", progress.longestGap(start),
		"latency_p50", percentile(lat, 50),
		"latency_p99", percentile(lat, 99),
		"latency_max", percentile(lat, 100),
		"instance_a", l.perInstance("a"),
		"instance_b", l.perInstance("b"),
		"publish_time", publishTime,
	)
	require.Equal(t, n, cnt.acked, "every publish is retried until acknowledged")
	require.Zero(t, cnt.lost, "acknowledged messages were lost")
	require.Zero(t, dead, "no message may be dead-lettered for a failover")
	require.Positive(t, l.perInstance("a"), "instance a handled nothing")
	require.Positive(t, l.perInstance("b"), "instance b handled nothing")
	if dedupe {
		require.Zero(t, cnt.dupEffects, "with the idempotency middleware no effect may repeat")
	}
}

// moveLeader asks the cluster to hand the leadership of a stream or
// consumer (api: the JetStream API subject after "$JS.API.") to the server
// named preferred, and waits until it leads.
func moveLeader(t *testing.T, b *bus.Bus, api, preferred string, leads func() bool) {
	t.Helper()
	req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, preferred)
	waitUntil(t, 30*time.Second, func() bool {
		if leads() {
			return true
		}
		resp, err := b.Conn().Request("$JS.API."+api, []byte(req), 5*time.Second)
		if err != nil {
			return false
		}
		var r struct {
			Success bool `json:"success"`
			Error   *struct {
				Description string `json:"description"`
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &r); err != nil {
			return false
		}
		if !r.Success {
			return false
		}
		// The new leader takes over after an election: give it time.
		for range 50 {
			if leads() {
				return true
			}
			time.Sleep(20 * time.Millisecond)
		}
		return false
	}, func() string { return "could not move the leader of " + api + " to " + preferred })
}
