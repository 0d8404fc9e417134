package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/topic"
)

// benchRecorded is the one event every choreo run publishes and handles.
var benchRecorded = topic.MustEvent[Payload]("v1.bench.recorded")

type dedupe int

const (
	dedupeNone dedupe = iota
	dedupeMemory
	dedupeKV
)

// choreoSystem uses the SDK's public API only, with default settings: typed
// Publish / PublishAsync + Flush on one bus, Subscribe with WithConcurrency
// on another (a publishing and a handling service). Each run has its own
// namespace, hence its own stream. Per message choreo adds to raw's work the
// CloudEvents envelope (UUIDv7 id, nine ce- headers, RFC 3339 time), a
// future with an ack timeout per async publish, the typed decode, a handler
// context with deadline, panic recovery, and the retry/dead-letter decision.
type choreoSystem struct {
	env    runEnv
	dedupe dedupe
	pub    *bus.Bus
	sub    *bus.Bus
	batch  *bus.Batch[Payload]
}

// choreoLogger sends the buses' warnings to stderr when BENCH_CHOREO_LOG is
// set, for diagnosing a slow or failed run; by default nothing is logged,
// as with bus's own default.
func choreoLogger() bus.Option {
	if os.Getenv("BENCH_CHOREO_LOG") == "" {
		return bus.WithLogger(slog.New(slog.DiscardHandler))
	}
	return bus.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func newChoreo(ctx context.Context, env runEnv, d dedupe) (system, error) {
	pub, err := bus.Connect(ctx, env.url, bus.WithSource("bench-pub"), bus.WithNamespace("bench."+env.id), choreoLogger())
	if err != nil {
		return nil, err
	}
	return &choreoSystem{env: env, dedupe: d, pub: pub}, nil
}

func (s *choreoSystem) PublishSync(ctx context.Context, p *Payload) error {
	_, err := bus.Publish(ctx, s.pub, benchRecorded, *p)
	return err
}

func (s *choreoSystem) PublishAsync(ctx context.Context, p *Payload) error {
	// The future is dropped: Flush reports failures, which is how the
	// README's throughput path is meant to be used.
	_, err := bus.PublishAsync(ctx, s.pub, benchRecorded, *p)
	return err
}

// BeginBatch starts a PublishBatch; the batch scenario adds -batch
// messages and commits it.
func (s *choreoSystem) BeginBatch(ctx context.Context) error {
	var err error
	s.batch, err = bus.PublishBatch(ctx, s.pub, benchRecorded)
	return err
}

func (s *choreoSystem) AddToBatch(ctx context.Context, p *Payload) error {
	_, err := s.batch.Add(ctx, *p)
	return err
}

func (s *choreoSystem) CommitBatch(ctx context.Context) error {
	_, err := s.batch.Commit(ctx)
	return err
}

func (s *choreoSystem) Flush(ctx context.Context) error { return s.pub.Flush(ctx) }

func (s *choreoSystem) Subscribe(ctx context.Context, concurrency int, handle func(*Payload)) error {
	var err error
	s.sub, err = bus.Connect(ctx, s.env.url, bus.WithSource("bench-sub"), bus.WithNamespace("bench."+s.env.id), choreoLogger())
	if err != nil {
		return err
	}
	// What the README recommends for throughput with fast handlers: a
	// prefetch well above the concurrency, so pulls come in large batches.
	opts := []bus.SubscribeOption{bus.WithConcurrency(concurrency), bus.WithPrefetch(512)}
	switch s.dedupe {
	case dedupeMemory:
		opts = append(opts, bus.Use(idempotency.Middleware(idempotency.NewMemoryStore())))
	case dedupeKV:
		store, err := idempotency.NewKVStore(ctx, s.sub.JetStream(), "bench_inbox_"+s.env.id)
		if err != nil {
			return fmt.Errorf("choreo: KV store: %w", err)
		}
		opts = append(opts, bus.Use(idempotency.Middleware(store)))
	}
	_, err = bus.Subscribe(ctx, s.sub, benchRecorded, "bench", func(_ context.Context, m *bus.Message[Payload]) error {
		handle(&m.Data)
		return nil
	}, opts...)
	return err
}

func (s *choreoSystem) Close(ctx context.Context) error {
	var errs []error
	if s.sub != nil {
		errs = append(errs, s.sub.Close(ctx))
	}
	errs = append(errs, s.pub.Close(ctx))
	return errors.Join(errs...)
}
