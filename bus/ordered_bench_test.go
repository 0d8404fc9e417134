package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// BenchmarkOrderedInstances measures how a group's throughput changes
// with its number of instances, ordered (WithOrdered) and not: a backlog
// of 3,000 events over 50 keys, handlers that take 1ms (a database write),
// concurrency 8 per instance. An ordered group is handled by one instance
// at a time (the pinned one), so its figure does not grow with instances;
// an unordered group's does. BENCHMARKS.md ("Ordered handling") has the figures.
func BenchmarkOrderedInstances(b *testing.B) {
	for _, ordered := range []bool{true, false} {
		for _, instances := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("ordered=%v/instances=%d", ordered, instances), func(b *testing.B) {
				for b.Loop() {
					benchmarkGroup(b, ordered, instances)
				}
			})
		}
	}
}

func benchmarkGroup(b *testing.B, ordered bool, instances int) {
	const keys, perKey, work = 50, 60, time.Millisecond
	total := keys * perKey
	b.StopTimer()
	srv := bustest.NewServer(b)
	pub := bustest.Connect(b, srv, bus.WithSource("shop"))
	ctx := context.Background()
	for n := range perKey {
		for k := range keys {
			key := fmt.Sprintf("order-%d", k)
			if _, err := bus.PublishAsync(ctx, pub, keyedEvt, keyedEvent{Key: key, N: n}, bus.WithSubject(key)); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := pub.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	done := make(chan struct{})
	h := func(ctx context.Context, m *bus.Message[keyedEvent]) error {
		time.Sleep(work)
		if handled.Add(1) == int64(total) {
			close(done)
		}
		return nil
	}
	opts := []bus.SubscribeOption{bus.WithConcurrency(8)}
	if ordered {
		opts = append(opts, bus.WithOrdered())
	}
	buses := make([]*bus.Bus, instances)
	for i := range buses {
		buses[i] = bustest.Connect(b, srv, bus.WithSource("ledger"))
	}
	start := time.Now()
	b.StartTimer()
	for i := range buses {
		if _, err := bus.Subscribe(ctx, buses[i], keyedEvt, "ledger", h, opts...); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("handled %d of %d", handled.Load(), total)
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
	for _, bb := range buses {
		_ = bb.Close(ctx)
	}
	b.StartTimer()
}
