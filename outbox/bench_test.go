package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/internal/pgtest"
	"github.com/choreo-bus/choreo/outbox"
	"github.com/choreo-bus/choreo/topic"
)

// The figures of BENCHMARKS.md ("Outbox"):
//
//	go test ./outbox -run '^$' -bench . -benchtime 20000x
//
// The relay benchmarks fill the outbox first, then time the relay draining
// it into a JetStream stream (an in-process server), so they measure the
// relay, not the writers.

// BenchmarkRelayPostgres: rows already committed, the relay publishes them
// all; each message its own ordering key (no subject, its own correlation
// id), or 100 keys.
func BenchmarkRelayPostgres(b *testing.B) {
	for _, keys := range []int{0, 100} {
		name := "keys=each"
		if keys > 0 {
			name = fmt.Sprintf("keys=%d", keys)
		}
		b.Run(name, func(b *testing.B) { benchRelay(b, pgtest.DB(b), keys) })
	}
}

func benchRelay(b *testing.B, db *sql.DB, keys int) {
	ctx := context.Background()
	bb := bustest.New(b, bus.WithNamespace("bench"))
	o, err := outbox.New(db, bb)
	if err != nil {
		b.Fatal(err)
	}
	// The stream exists before the clock starts.
	if _, err := bus.Publish(ctx, bb, userSignedup, signup{}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 500 && i < b.N; j, i = j+1, i+1 {
			var opts []bus.PublishOption
			if keys > 0 {
				opts = append(opts, bus.WithSubject(fmt.Sprint("user-", i%keys)))
			}
			if _, err := outbox.Publish(ctx, tx, o, userSignedup, signup{Email: "ada@example.com", N: i}, opts...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	stream := topic.Stream("bench", topic.KindEvent, "user")
	s, err := bb.JetStream().Stream(ctx, stream)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(rctx) }()
	for {
		info, err := s.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.State.Msgs >= uint64(b.N)+1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkCommitToDeliveryPostgres: one transaction at a time commits one
// event; the clock runs from just before Commit until a subscriber of the
// same process receives the event (so it includes the broker's delivery
// to the consumer as well as the relay's wake-up, read and publish).
func BenchmarkCommitToDeliveryPostgres(b *testing.B) {
	ctx := context.Background()
	db := pgtest.DB(b)
	bb := bustest.New(b)
	o, err := outbox.New(db, bb)
	if err != nil {
		b.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(rctx) }()
	defer func() { stop(); <-done }()
	got := make(chan time.Time, 1)
	sub, err := bus.Subscribe(ctx, bb, userSignedup, "latency", func(context.Context, *bus.Message[signup]) error {
		got <- time.Now()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Stop()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := outbox.Publish(ctx, tx, o, userSignedup, signup{N: i}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-got).Sub(committed))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkInboxPostgres: what the database inbox adds to a handler whose
// effect is one INSERT in its own transaction. plain: begin, insert,
// commit. inbox: Claim (one statement), then begin, insert, the done record,
// commit, as idempotency.Middleware runs it.
func BenchmarkInboxPostgres(b *testing.B) {
	ctx := context.Background()
	db := pgtest.DB(b)
	if _, err := db.Exec(`CREATE TABLE effects (id bigint NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	in, err := outbox.NewInbox(db)
	if err != nil {
		b.Fatal(err)
	}
	effect := func(ctx context.Context, tx *sql.Tx, i int) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO effects (id) VALUES ($1)`, i)
		return err
	}
	b.Run("plain", func(b *testing.B) {
		for i := range b.N {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := effect(ctx, tx, i); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inbox", func(b *testing.B) {
		run := time.Now().UnixNano()
		for i := range b.N {
			c, err := in.Claim(ctx, idempotency.Key{Scope: "bench", Source: "shop", ID: fmt.Sprint(run, "-", i)}, time.Minute)
			if err != nil || c.Status != idempotency.Acquired {
				b.Fatal(c.Status, err)
			}
			err = in.RunInTx(ctx, time.Hour, func(ctx context.Context) (idempotency.Claim, error) {
				return c, effect(ctx, outbox.Tx(ctx), i)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
