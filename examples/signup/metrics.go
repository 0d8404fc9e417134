package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/outbox"
)

// metrics counts sign-ups. It subscribes to the same v1.user.signedup as
// email, in a group of its own, so each of them gets every event: adding a
// subscriber changes nothing in accounts, which publishes the event.
type metrics struct {
	console   *console
	db        *sql.DB
	dir       string
	closeOnce sync.Once
}

// startMetrics makes the service count every v1.user.signedup on b, in a
// SQLite database of its own (in a temporary directory, removed by close).
func startMetrics(ctx context.Context, b *bus.Bus, c *console) (*metrics, error) {
	dir, err := os.MkdirTemp("", "signup-metrics-")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s := &metrics{console: c, dir: dir}
	if s.db, err = sql.Open("sqlite", outbox.SQLiteDSN(filepath.Join(dir, "metrics.db"))); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("metrics: opening the database: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS signups (user_id TEXT NOT NULL)`); err != nil {
		s.close()
		return nil, fmt.Errorf("metrics: creating the signups table: %w", err)
	}
	// The database inbox: its done records live in metrics' own database,
	// and each one commits in the same transaction as the count it guards,
	// so a crash between counting and acknowledging cannot count an event
	// twice. (email's effect is an email, which no transaction covers: it
	// keeps its inbox in a JetStream KV bucket instead.)
	inbox, err := outbox.NewInbox(s.db)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("metrics: %w", err)
	}
	_, err = bus.Subscribe(ctx, b, topics.UserSignedupV1Event, "metrics", s.count,
		bus.Use(c.outcomes("metrics"), idempotency.Middleware(inbox)))
	if err != nil {
		s.close()
		return nil, fmt.Errorf("metrics: subscribing to %s: %w", topics.TopicUserSignedupV1, err)
	}
	return s, nil
}

// count handles one v1.user.signedup event, inside the inbox's transaction.
func (s *metrics) count(ctx context.Context, m *bus.Message[topics.UserSignedupV1]) error {
	tx := outbox.Tx(ctx)
	if _, err := tx.ExecContext(ctx, `INSERT INTO signups (user_id) VALUES ($1)`, m.Data.UserID); err != nil {
		return fmt.Errorf("counting user %s: %w", m.Data.UserID, err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM signups`).Scan(&n); err != nil {
		return fmt.Errorf("reading the count: %w", err)
	}
	s.console.received("metrics", m.Envelope, "sign-ups counted: %d", n)
	return nil
}

// total is the number of sign-ups counted, as a metrics endpoint would
// report it.
func (s *metrics) total() int {
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM signups`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// close closes and removes the database. Close the bus first.
func (s *metrics) close() {
	s.closeOnce.Do(func() {
		_ = s.db.Close()
		_ = os.RemoveAll(s.dir)
	})
}
