package reliability_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/internal/pgtest"
	"github.com/choreo-bus/choreo/outbox"
)

// The outbox scenarios run one after another, not in parallel with the
// other scenarios: they load the machine (PostgreSQL, relays, writers) and
// some other scenarios compare latencies. The dialects of one scenario run
// in parallel with each other.

// Service crash between commit and relay: a service commits orders
// through the outbox (and rolls some transactions back) and dies before
// its relay published anything. Restarted, with new connections, its relay
// publishes every committed order exactly once, in per-key order, and no
// order of a rolled-back transaction.
func TestChaosOutboxServiceCrashBeforeRelay(t *testing.T) {
	for _, dbc := range outboxDatabases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 3*time.Minute)
			n := sized(500, 5000)
			ns := "outboxcrash" + dbc.name
			srv := bustest.NewServer(t)
			db, reopen := dbc.open(t)

			crashed := dial(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop")) // never closed: it dies
			o, err := outbox.New(db, crashed)
			require.NoError(t, err)
			writeOrders(ctx, t, db, o, 0, n, 20, 5, 7)
			require.NoError(t, db.Close()) // the process is gone

			restarted := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"))
			db2 := reopen()
			o2, err := outbox.New(db2, restarted, relayOptions...)
			require.NoError(t, err)
			require.Equal(t, n, outboxRows(t, db2), "the committed orders wait in the outbox")
			start := time.Now()
			startRelay(t, o2)
			waitUntil(t, 2*time.Minute, func() bool { return outboxRows(t, db2) == 0 && streamCount(t, restarted, eventStream(ns)) >= n },
				func() string { return "the restarted relay did not publish every committed order" })
			took := time.Since(start)
			a := auditStream(t, restarted, eventStream(ns))
			report(t, "outbox-service-crash-"+dbc.name, "orders", n, "stored", a.total, "rolled_back_published", a.rolledBack, "relay_time", took)
			require.Equal(t, n, a.total, "messages in the stream")
			require.Equal(t, n, a.distinct, "distinct ids in the stream")
			require.Zero(t, a.rolledBack, "orders of rolled-back transactions were published")
			require.Empty(t, a.outOfOrder)
			require.True(t, a.msgIDs, "every Nats-Msg-Id is envelope.MsgID(source, id)")
		})
	}
}

// Relay crash between publish and mark: every deletion of published rows
// fails, so the relay keeps publishing rows the broker already stored.
// Inside the duplicate window the stream drops the copies (it holds each
// order once); past it, the stream holds copies and a consumer guarded by
// the database inbox applies each order's effect once.
func TestChaosOutboxRelayCrashBeforeMark(t *testing.T) {
	for _, dbc := range outboxDatabases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 3*time.Minute)
			n := sized(300, 3000)
			srv := bustest.NewServer(t)

			// Inside the duplicate window (the default two minutes).
			ns := "outboxmark" + dbc.name
			db, _ := dbc.open(t)
			b := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"))
			o, err := outbox.New(db, b, relayOptions...)
			require.NoError(t, err)
			injectMarkCrash(t, db, dbc.name)
			writeOrders(ctx, t, db, o, 0, n, 10, 10, 0)
			stop := startRelay(t, o)
			waitUntil(t, 2*time.Minute, func() bool { return streamCount(t, b, eventStream(ns)) >= n },
				func() string { return "the relay did not publish the orders" })
			require.Equal(t, n, outboxRows(t, db), "no row may be marked while the marking crashes")
			stop() // the relay process dies; a new one starts on a healed database
			_, err = db.Exec(`DELETE FROM crash_deletes`)
			require.NoError(t, err)
			b2 := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("relay-2"))
			o2, err := outbox.New(db, b2, relayOptions...)
			require.NoError(t, err)
			startRelay(t, o2)
			waitUntil(t, 2*time.Minute, func() bool { return outboxRows(t, db) == 0 },
				func() string { return "the second relay did not mark the rows" })
			a := auditStream(t, b, eventStream(ns))
			require.Equal(t, n, a.total, "the broker must drop the republished copies")
			require.Equal(t, n, a.distinct)
			require.Empty(t, a.outOfOrder)

			// Past the duplicate window (one second here): copies reach the
			// stream; the database inbox keeps the effect single.
			ns = "outboxmarkwindow" + dbc.name
			db, _ = dbc.open(t)
			b = connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"), bus.WithDuplicateWindow(time.Second))
			o, err = outbox.New(db, b, outbox.WithBackoff(time.Second, 2*time.Second), outbox.WithPublishTimeout(3*time.Second))
			require.NoError(t, err)
			inbox, err := outbox.NewInbox(db)
			require.NoError(t, err)
			_, err = db.Exec(`CREATE TABLE effects (msg_id TEXT NOT NULL)`)
			require.NoError(t, err)
			sub, err := bus.Subscribe(ctx, b, orderPlaced, "effects", func(ctx context.Context, m *bus.Message[order]) error {
				_, err := outbox.Tx(ctx).ExecContext(ctx, `INSERT INTO effects (msg_id) VALUES ($1)`, m.Envelope.ID)
				return err
			}, bus.Use(idempotency.Middleware(inbox)), bus.WithConcurrency(4))
			require.NoError(t, err)
			t.Cleanup(sub.Stop)
			injectMarkCrash(t, db, dbc.name)
			writeOrders(ctx, t, db, o, 0, n, 10, 10, 0)
			startRelay(t, o)
			waitUntil(t, 2*time.Minute, func() bool { return streamCount(t, b, eventStream(ns)) > n },
				func() string { return "no copy was published past the duplicate window" })
			_, err = db.Exec(`DELETE FROM crash_deletes`)
			require.NoError(t, err)
			waitUntil(t, 2*time.Minute, func() bool { return outboxRows(t, db) == 0 },
				func() string { return "the relay did not mark the rows once healed" })
			settled(t, b, eventStream(ns), sub.Consumer(), 2*time.Minute)
			a = auditStream(t, b, eventStream(ns))
			effects := countRows(t, db, `SELECT count(*) FROM effects`)
			distinct := countRows(t, db, `SELECT count(DISTINCT msg_id) FROM effects`)
			report(t, "outbox-relay-crash-before-mark-"+dbc.name, "orders", n, "stored_past_window", a.total, "effects", effects)
			require.Greater(t, a.total, n, "copies past the duplicate window")
			require.Equal(t, n, a.distinct)
			require.Equal(t, n, distinct, "every order has its effect")
			require.Equal(t, n, effects, "no order has its effect twice")
		})
	}
}

// Three relays on one PostgreSQL database publish orders written by four
// writers meanwhile, each exactly once and in per-key order; one relay
// dies a third of the way through (its round is cut between publish and
// mark).
func TestChaosOutboxThreeRelays(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	const n, keys, writers = 10000, 100, 4
	const ns = "outboxthree"
	srv := bustest.NewServer(t)
	dsn := pgtest.DSN(t)
	open := func() *sql.DB {
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	var relays []func()
	var observer *bus.Bus
	for i := range 3 {
		b := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"))
		observer = b
		o, err := outbox.New(open(), b, relayOptions...)
		require.NoError(t, err)
		relays = append(relays, startRelay(t, o))
		_ = i
	}
	writerBus := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"))
	db := open()
	o, err := outbox.New(db, writerBus)
	require.NoError(t, err)

	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			// Writer w owns the keys k with k%writers == w, so each key's
			// orders are written in order by one writer.
			for i := 0; i < n; {
				x, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Error(err)
					return
				}
				for j := 0; j < 10 && i < n; i++ {
					if (i%keys)%writers != w {
						continue
					}
					j++
					if _, err := outbox.Publish(ctx, x, o, orderPlaced, order{Seq: i}, bus.WithSubject(orderKey(i, keys))); err != nil {
						t.Error(err)
						_ = x.Rollback()
						return
					}
				}
				if err := x.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	waitUntil(t, 2*time.Minute, func() bool { return streamCount(t, observer, eventStream(ns)) >= n/3 },
		func() string { return "the relays did not publish a third of the orders" })
	relays[0]() // one relay dies mid-run
	wg.Wait()
	waitUntil(t, 3*time.Minute, func() bool { return outboxRows(t, db) == 0 && streamCount(t, observer, eventStream(ns)) >= n },
		func() string { return "the relays did not publish every order" })
	took := time.Since(start)
	a := auditStream(t, observer, eventStream(ns))
	report(t, "outbox-three-relays", "orders", n, "keys", keys, "stored", a.total, "time", took)
	require.Equal(t, n, a.total, "messages in the stream")
	require.Equal(t, n, a.distinct)
	require.Empty(t, a.outOfOrder)
}

// Broker down for 10 s: orders are committed before, during and after an
// outage of the only JetStream server; every one is published exactly
// once, in per-key order, once the server is back.
func TestChaosOutboxBrokerDown(t *testing.T) {
	for _, dbc := range outboxDatabases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 4*time.Minute)
			n := sized(900, 9000)
			const outage = 10 * time.Second // the fault, not a wait
			ns := "outboxdown" + dbc.name
			dir := t.TempDir()
			srv, err := embedded.Start(ctx, embedded.WithDir(dir))
			require.NoError(t, err)
			port := srv.Port()
			t.Cleanup(func() { srv.Shutdown() })
			db, _ := dbc.open(t)
			b := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"))
			o, err := outbox.New(db, b, relayOptions...)
			require.NoError(t, err)
			startRelay(t, o)

			writeOrders(ctx, t, db, o, 0, n/3, 10, 5, 0)
			waitUntil(t, time.Minute, func() bool { return streamCount(t, b, eventStream(ns)) >= n/3 },
				func() string { return "the first third was not published" })
			srv.Shutdown()
			down := time.Now()
			writeOrders(ctx, t, db, o, n/3, n/3, 10, 5, 0) // committed while the broker is down
			if left := outage - time.Since(down); left > 0 {
				time.Sleep(left)
			}
			srv, err = embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
			require.NoError(t, err)
			up := time.Now()
			writeOrders(ctx, t, db, o, 2*(n/3), n-2*(n/3), 10, 5, 0)
			waitUntil(t, 2*time.Minute, func() bool { return outboxRows(t, db) == 0 && streamCount(t, b, eventStream(ns)) >= n },
				func() string { return "the relay did not publish everything after the outage" })
			a := auditStream(t, b, eventStream(ns))
			report(t, "outbox-broker-down-"+dbc.name, "orders", n, "outage", up.Sub(down), "drained_after", time.Since(up), "stored", a.total)
			require.Equal(t, n, a.total, "messages in the stream")
			require.Equal(t, n, a.distinct)
			require.Empty(t, a.outOfOrder)
		})
	}
}

// Database inbox, crash after the effect and before the ack: instance A's
// handlers commit their effect (with the done record) and then hang, so
// their messages are never acknowledged and come back to instance B after
// the ack wait. B finds them done and acknowledges them without running
// the handler: every effect happens exactly once.
func TestChaosDatabaseInboxCrashAfterEffect(t *testing.T) {
	for _, dbc := range outboxDatabases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 3*time.Minute)
			n := sized(200, 2000)
			const ackWait = 2 * time.Second
			ns := "dbinboxcrash" + dbc.name
			srv := bustest.NewServer(t)
			dbA, reopen := dbc.open(t)
			_, err := dbA.Exec(`CREATE TABLE effects (msg_id TEXT NOT NULL, instance TEXT NOT NULL)`)
			require.NoError(t, err)
			effect := func(instance string) bus.Handler[order] {
				return func(ctx context.Context, m *bus.Message[order]) error {
					_, err := outbox.Tx(ctx).ExecContext(ctx, `INSERT INTO effects (msg_id, instance) VALUES ($1, $2)`, m.Envelope.ID, instance)
					return err
				}
			}
			sopts := []bus.SubscribeOption{bus.WithConcurrency(8), bus.WithAckWait(ackWait), bus.WithMaxDeliver(20)}

			inboxA, err := outbox.NewInbox(dbA)
			require.NoError(t, err)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			var succeeded, hung atomic.Int32
			hangAfterEffect := func(next bus.HandlerFunc) bus.HandlerFunc {
				return func(ctx context.Context, d *bus.Delivery) error {
					err := next(ctx, d) // the inbox committed the effect and its done record
					if err == nil && succeeded.Add(1) <= 8 {
						hung.Add(1)
						<-release // dies before the ack
					}
					return err
				}
			}
			a := dial(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("worker-a"))
			_, err = bus.Subscribe(ctx, a, orderPlaced, "effects", effect("a"),
				append(sopts, bus.Use(hangAfterEffect, idempotency.Middleware(inboxA, idempotency.WithLease(ackWait))))...)
			require.NoError(t, err)

			inboxB, err := outbox.NewInbox(reopen())
			require.NoError(t, err)
			b := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("worker-b"))
			sub, err := bus.Subscribe(ctx, b, orderPlaced, "effects", effect("b"),
				append(sopts, bus.Use(idempotency.Middleware(inboxB, idempotency.WithLease(ackWait))))...)
			require.NoError(t, err)

			pub := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("shop"))
			for i := range n {
				_, err := bus.Publish(ctx, pub, orderPlaced, order{Seq: i})
				require.NoError(t, err)
			}
			waitUntil(t, 2*time.Minute, func() bool { return countRows(t, dbA, `SELECT count(DISTINCT msg_id) FROM effects`) == n },
				func() string { return "not every order had its effect" })
			settled(t, b, eventStream(ns), sub.Consumer(), 2*time.Minute)
			effects := countRows(t, dbA, `SELECT count(*) FROM effects`)
			report(t, "database-inbox-crash-after-effect-"+dbc.name, "orders", n, "hung_after_effect", hung.Load(), "effects", effects)
			require.EqualValues(t, 8, hung.Load(), "instance A must have hung after 8 effects")
			require.Equal(t, n, effects, "an effect happened twice")
		})
	}
}

func countRows(t *testing.T, db *sql.DB, q string) int {
	var n int
	require.NoError(t, db.QueryRow(q).Scan(&n))
	return n
}
