package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/outbox"
	"github.com/choreo-bus/choreo/topic"
)

type signup struct {
	Email string `json:"email"`
	N     int    `json:"n"`
}

var userSignedup = topic.MustEvent[signup]("v1.user.signedup")
var sendWelcome = topic.MustCommand[signup]("v1.email.send")

func TestRelayPublishesCommittedRowsOnly(t *testing.T) {
	for _, dbc := range databases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxFor(t, time.Minute)
			db := dbc.open(t)
			b := bustest.New(t)
			o, err := outbox.New(db, b)
			if err != nil {
				t.Fatal(err)
			}
			got := bustest.Collect(t, b, userSignedup)

			var ids []string
			for i := range 3 {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				id, err := outbox.Publish(ctx, tx, o, userSignedup, signup{Email: "ada@example.com", N: i}, bus.WithSubject("user-1"))
				if err != nil {
					t.Fatal(err)
				}
				if i == 1 {
					if err := tx.Rollback(); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if n := pending(t, db); n != 2 {
				t.Fatalf("%d rows in the outbox before the relay ran, want the 2 committed", n)
			}
			runRelay(t, o)
			msgs := got.Wait(2)
			for i, m := range msgs {
				if m.Envelope.ID != ids[i] {
					t.Errorf("event %d has id %s, want %s (the id Publish returned, in commit order)", i, m.Envelope.ID, ids[i])
				}
				if m.Envelope.Subject != "user-1" || m.Envelope.Source != b.Source() {
					t.Errorf("event %d: subject %q source %q, want user-1 and %q", i, m.Envelope.Subject, m.Envelope.Source, b.Source())
				}
			}
			if msgs[0].Data.N != 0 || msgs[1].Data.N != 2 {
				t.Errorf("payloads N=%d,%d, want 0,2 (the rolled-back 1 never published)", msgs[0].Data.N, msgs[1].Data.N)
			}
			got.NoMore(2, 300*time.Millisecond)
			waitFor(t, "the relay to delete the published rows", func() bool { return pending(t, db) == 0 })

			// The stored Nats-Msg-Id is the one bus.Publish would set.
			s, err := b.JetStream().Stream(ctx, topic.Stream(b.Namespace(), topic.KindEvent, "user"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := s.GetMsg(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := envelope.MsgID(b.Source(), ids[0]); raw.Header.Get(jetstream.MsgIDHeader) != want {
				t.Errorf("Nats-Msg-Id %q, want %q", raw.Header.Get(jetstream.MsgIDHeader), want)
			}
		})
	}
}

func TestSendContinuesTheHandlersChain(t *testing.T) {
	for _, dbc := range databases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxFor(t, time.Minute)
			db := dbc.open(t)
			b := bustest.New(t)
			o, err := outbox.New(db, b)
			if err != nil {
				t.Fatal(err)
			}
			runRelay(t, o)
			commands := make(chan *bus.Message[signup], 1)
			sub, err := bus.HandleCommand(ctx, b, sendWelcome, func(_ context.Context, m *bus.Message[signup]) error {
				commands <- m
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sub.Stop)
			// An event handler sends a command through the outbox: the
			// command continues the event's chain.
			esub, err := bus.Subscribe(ctx, b, userSignedup, "mailer", func(ctx context.Context, m *bus.Message[signup]) error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer func() { _ = tx.Rollback() }()
				if _, err := outbox.Send(ctx, tx, o, sendWelcome, m.Data); err != nil {
					return err
				}
				return tx.Commit()
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(esub.Stop)
			r, err := bus.Publish(ctx, b, userSignedup, signup{Email: "grace@example.com"}, bus.WithCorrelationID("req-7"))
			if err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-commands:
				if m.Envelope.CorrelationID != "req-7" || m.Envelope.CausationID != r.ID {
					t.Errorf("command correlation %q causation %q, want req-7 and %s", m.Envelope.CorrelationID, m.Envelope.CausationID, r.ID)
				}
				if m.Data.Email != "grace@example.com" {
					t.Errorf("command payload %+v", m.Data)
				}
			case <-ctx.Done():
				t.Fatal("the command sent through the outbox never arrived")
			}
		})
	}
}

func TestPublishRunsThePublishHooksAtWriteTime(t *testing.T) {
	db := openSQLite(t)
	ctx := ctxFor(t, time.Minute)
	var published []error
	b := bustest.New(t, bus.WithHooks(bus.Hooks{
		Publish: func(ctx context.Context, m *bus.Outgoing) context.Context {
			m.Envelope.Extensions = map[string]string{"tenant": "acme"}
			return ctx
		},
		Published: func(_ context.Context, m *bus.Outgoing, r bus.Receipt, err error) {
			published = append(published, err)
		},
	}))
	o, err := outbox.New(db, b)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Publish(ctx, tx, o, userSignedup, signup{}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(published) != 1 || published[0] != nil {
		t.Fatalf("Published hooks ran with %v, want once with nil once the row is written", published)
	}
	got := bustest.Collect(t, b, userSignedup)
	runRelay(t, o)
	if m := got.Wait(1)[0]; m.Envelope.Extensions["tenant"] != "acme" {
		t.Errorf("relayed event extensions %v, want the tenant a Publish hook set at write time", m.Envelope.Extensions)
	}
	if len(published) != 1 {
		t.Errorf("Published hooks ran %d times, want once (the relay runs no hooks)", len(published))
	}
}

func TestInvalidMessagesAreRefusedAtWriteTime(t *testing.T) {
	db := openSQLite(t)
	ctx := ctxFor(t, time.Minute)
	b := bustest.New(t)
	o, err := outbox.New(db, b)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	_, err = outbox.Publish(ctx, tx, o, userSignedup, signup{}, bus.WithExtension("Bad Name", "x"))
	if !errors.Is(err, envelope.ErrMalformed) {
		t.Errorf("Publish with an invalid extension = %v, want ErrMalformed", err)
	}
	if _, err := outbox.Publish(ctx, nil, o, userSignedup, signup{}); err == nil {
		t.Error("Publish without a transaction succeeded")
	}
}

func TestPerKeyOrderAcrossRelays(t *testing.T) {
	ctx := ctxFor(t, 2*time.Minute)
	db := testDB(t)
	b := bustest.New(t)
	const keys, perKey = 20, 25
	var relays []*outbox.Outbox
	for range 3 {
		o, err := outbox.New(db, b, outbox.WithBatch(37), outbox.WithWorkers(3))
		if err != nil {
			t.Fatal(err)
		}
		relays = append(relays, o)
	}
	got := bustest.Collect(t, b, userSignedup)
	for _, o := range relays {
		runRelay(t, o)
	}
	for i := range perKey {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k := range keys {
			if _, err := outbox.Publish(ctx, tx, relays[k%3], userSignedup, signup{N: i}, bus.WithSubject(fmt.Sprint("user-", k))); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	next := map[string]int{}
	for _, m := range got.Wait(keys * perKey) {
		if m.Data.N != next[m.Envelope.Subject] {
			t.Fatalf("%s: got N=%d, want %d: out of order", m.Envelope.Subject, m.Data.N, next[m.Envelope.Subject])
		}
		next[m.Envelope.Subject]++
	}
	got.NoMore(keys*perKey, 300*time.Millisecond)
}

func testDB(t *testing.T) *sql.DB { return databases[1].open(t) }

func TestSQLiteHasOneRelay(t *testing.T) {
	db := openSQLite(t)
	b := bustest.New(t)
	o, err := outbox.New(db, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, time.Minute)
	runRelay(t, o)
	// Once a row was relayed, the first relay surely runs.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Publish(ctx, tx, o, userSignedup, signup{}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the relay to publish the row", func() bool { return pending(t, db) == 0 })
	if err := o.Run(ctx); !errors.Is(err, outbox.ErrRelayRunning) {
		t.Errorf("a second relay on one SQLite outbox: Run = %v, want ErrRelayRunning", err)
	}
}
