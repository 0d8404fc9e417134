package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/idempotency/idempotencytest"
	"github.com/choreo-bus/choreo/outbox"
)

func TestInboxConformance(t *testing.T) {
	for _, dbc := range databases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			db := dbc.open(t) // one database, shared by the subtests as by service instances
			idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
				s, err := outbox.NewInbox(db)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

// The handler's effect and the done record commit together: a failing
// handler leaves neither, a succeeding one both, and a copy of a handled
// message runs nothing.
func TestInboxMiddlewareCommitsEffectWithDoneRecord(t *testing.T) {
	for _, dbc := range databases {
		t.Run(dbc.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxFor(t, time.Minute)
			db := dbc.open(t)
			if _, err := db.ExecContext(ctx, `CREATE TABLE welcomed (email TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			in, err := outbox.NewInbox(db)
			if err != nil {
				t.Fatal(err)
			}
			b := bustest.New(t)
			calls := make(chan error, 10)
			failFirst := true
			sub, err := bus.Subscribe(ctx, b, userSignedup, "welcome", func(ctx context.Context, m *bus.Message[signup]) error {
				tx := outbox.Tx(ctx)
				if tx == nil {
					calls <- errors.New("no transaction in the handler's ctx")
					return nil
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO welcomed (email) VALUES ($1)`, m.Data.Email); err != nil {
					calls <- err
					return err
				}
				if failFirst {
					failFirst = false
					calls <- nil
					return errors.New("fails after its write: the write must be rolled back")
				}
				calls <- nil
				return nil
			}, bus.Use(idempotency.Middleware(in)), bus.WithBackoff(10*time.Millisecond), bus.WithConcurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sub.Stop)
			_, err = bus.Publish(ctx, b, userSignedup, signup{Email: "ada@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				select {
				case err := <-calls:
					if err != nil {
						t.Fatal(err)
					}
				case <-ctx.Done():
					t.Fatal("handler did not run twice (a failure, then the retry)")
				}
			}
			waitFor(t, "the done record", func() bool {
				return count(t, db, `SELECT count(*) FROM choreo_inbox WHERE done = TRUE`) == 1
			})
			if n := count(t, db, `SELECT count(*) FROM welcomed`); n != 1 {
				t.Fatalf("%d rows written, want 1: the failed attempt's write was not rolled back", n)
			}
			// Another message runs the handler once more.
			if _, err := bus.Publish(ctx, b, userSignedup, signup{Email: "ada@example.com"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-calls: // the new id runs
			case <-ctx.Done():
				t.Fatal("second message not handled")
			}
			waitFor(t, "the second done record", func() bool {
				return count(t, db, `SELECT count(*) FROM choreo_inbox WHERE done = TRUE`) == 2
			})
			if n := count(t, db, `SELECT count(*) FROM welcomed`); n != 2 {
				t.Fatalf("%d rows written, want 2", n)
			}
		})
	}
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
