package idempotency_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/idempotency"
)

func nop(context.Context, *bus.Delivery) error { return nil }

// BenchmarkMiddlewareMemory measures what the middleware adds to a handler
// with the memory store: the duplicate path (key done, handler skipped) and
// the first-delivery path (claim, run, complete).
func BenchmarkMiddlewareMemory(b *testing.B) {
	ctx := context.Background()
	b.Run("bare-handler", func(b *testing.B) {
		d := delivery("billing__v1_order_placed", envelope.NewID(), 1)
		b.ReportAllocs()
		for b.Loop() {
			_ = nop(ctx, d)
		}
	})
	b.Run("duplicate", func(b *testing.B) {
		handle := idempotency.Middleware(idempotency.NewMemoryStore())(nop)
		d := delivery("billing__v1_order_placed", envelope.NewID(), 1)
		_ = handle(ctx, d)
		b.ReportAllocs()
		for b.Loop() {
			if err := handle(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("duplicate-parallel", func(b *testing.B) {
		handle := idempotency.Middleware(idempotency.NewMemoryStore())(nop)
		ds := make([]*bus.Delivery, 64)
		for i := range ds {
			ds[i] = delivery("billing__v1_order_placed", envelope.NewID(), 1)
			_ = handle(ctx, ds[i])
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			d := ds[next.Add(1)%int64(len(ds))]
			for pb.Next() {
				_ = handle(ctx, d)
			}
		})
	})
	for _, capacity := range []int{1_000, idempotency.DefaultMaxEntries} {
		b.Run("first-delivery/entries="+strconv.Itoa(capacity), func(b *testing.B) {
			benchFirstDelivery(b, capacity)
		})
	}
}

// benchFirstDelivery runs a full store in steady state: every message is new
// to it (the IDs cycle through more keys than it holds), so every claim
// evicts the oldest done record.
func benchFirstDelivery(b *testing.B, capacity int) {
	ctx := context.Background()
	handle := idempotency.Middleware(idempotency.NewMemoryStore(idempotency.WithMaxEntries(capacity)))(nop)
	ids := make([]string, capacity*3/2)
	for i := range ids {
		ids[i] = envelope.NewID()
	}
	d := delivery("billing__v1_order_placed", "", 1)
	for _, id := range ids { // fill the store
		d.Envelope.ID = id
		_ = handle(ctx, d)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Envelope.ID = ids[i%len(ids)]
		i++
		if err := handle(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKVStore measures the KV store on its own (no consumer): a first
// delivery (claim + complete, two round trips) and a duplicate (claim that
// finds the key done, two round trips), with 16 callers at once.
func BenchmarkKVStore(b *testing.B) {
	js, _ := startJetStream(b)
	ctx := context.Background()
	store, err := idempotency.NewKVStore(ctx, js, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	b.Run("claim-complete", func(b *testing.B) {
		b.SetParallelism(8) // 16 goroutines on 2 cores
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := idempotency.Key{Scope: "bench", ID: run + "-" + fmt.Sprint(n.Add(1))}
				c, err := store.Claim(ctx, k, 30*time.Second)
				if err != nil || c.Status != idempotency.Acquired {
					b.Fatal(c.Status, err)
				}
				if err := store.Complete(ctx, c, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	k := idempotency.Key{Scope: "bench", ID: run + "-dup"}
	c, err := store.Claim(ctx, k, 30*time.Second)
	if err != nil || c.Status != idempotency.Acquired {
		b.Fatal(c.Status, err)
	}
	if err := store.Complete(ctx, c, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.Run("duplicate", func(b *testing.B) {
		b.SetParallelism(8)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if c, err := store.Claim(ctx, k, 30*time.Second); err != nil || c.Status != idempotency.Done {
					b.Fatal(c.Status, err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkConsumer measures messages per second through a bus consumer
// with concurrency 16 on an embedded server, with the dedupe middleware and
// without: b.N events are published first (not timed), then handled.
func BenchmarkConsumer(b *testing.B) {
	tests := []struct {
		name  string
		store func(b *testing.B, bb *bus.Bus) idempotency.Store
	}{
		{"no-dedupe", nil},
		{"memory-store", func(*testing.B, *bus.Bus) idempotency.Store { return idempotency.NewMemoryStore() }},
		{"kv-store", func(b *testing.B, bb *bus.Bus) idempotency.Store {
			s, err := idempotency.NewKVStore(context.Background(), bb.JetStream(), "bench_inbox")
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"kv-store-memory-storage", func(b *testing.B, bb *bus.Bus) idempotency.Store {
			s, err := idempotency.NewKVStore(context.Background(), bb.JetStream(), "bench_inbox",
				idempotency.WithStorage(jetstream.MemoryStorage))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			bb := bustest.New(b, bus.WithSource("billing"))
			for i := range b.N {
				if _, err := bus.PublishAsync(ctx, bb, orderPlacedEvt, orderPlaced{OrderID: strconv.Itoa(i)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := bb.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			opts := []bus.SubscribeOption{bus.WithConcurrency(16)}
			if tc.store != nil {
				opts = append(opts, bus.Use(idempotency.Middleware(tc.store(b, bb))))
			}
			var handled atomic.Int64
			all := make(chan struct{})
			b.ReportAllocs()
			b.ResetTimer()
			sub, err := bus.Subscribe(ctx, bb, orderPlacedEvt, "billing", func(context.Context, *bus.Message[orderPlaced]) error {
				if handled.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			<-all
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			sub.Stop()
		})
	}
}
