package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/choreo-bus/choreo/bus"
)

// ErrUnsupportedDriver is the cause of New's and NewInbox's error for a
// *sql.DB whose driver is neither pgx's database/sql driver
// (github.com/jackc/pgx/v5/stdlib) nor modernc.org/sqlite.
var ErrUnsupportedDriver = errors.New("choreo/outbox: unsupported database driver")

// Partitions is the number of partitions the outbox spreads its ordering
// keys over. Relays work on whole partitions, one relay at a time per
// partition, which is what keeps each key's messages in order; it bounds
// how many relay workers can publish at once. It is part of the table
// layout (the part column) and does not change.
const Partitions = 16

// Defaults of the options.
const (
	DefaultBatch          = 500
	DefaultPostgresWorker = 4
	DefaultPublishTimeout = 10 * time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
)

// Outbox writes messages into a database table in the caller's
// transaction (Publish, Send) and relays committed rows to the bus (Run).
// It is safe for concurrent use.
type Outbox struct {
	db  *sql.DB
	bus *bus.Bus
	d   dialect
	cfg config
	// poke wakes the relay of this process after a write (a hint: the
	// write's transaction may not have committed yet).
	poke chan struct{}
	// sqliteRelay is held by the running relay of a SQLite outbox.
	sqliteRelay sync.Mutex
}

// Option configures New.
type Option func(*config)

type config struct {
	batch          int
	workers        int
	poll           time.Duration
	publishTimeout time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	logger         *slog.Logger
	noMigrate      bool
}

// WithBatch sets how many rows a relay worker takes at once (default
// DefaultBatch; n <= 0 means the default).
func WithBatch(n int) Option { return func(c *config) { c.batch = n } }

// WithWorkers sets how many partitions one relay publishes at once on
// PostgreSQL (default DefaultPostgresWorker, at most Partitions; n <= 0
// means the default). A SQLite relay always has one worker.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithPollInterval sets how often an idle relay looks for rows it was not
// told about. On PostgreSQL a committed write wakes every relay at once
// (LISTEN/NOTIFY), so polling only covers a lost notification (default 1s);
// on SQLite it is the wake-up (default 50ms) for writes of other processes,
// a write of this process wakes its relay at once.
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.poll = d } }

// WithPublishTimeout bounds how long the relay waits for the broker to
// acknowledge a round of messages before it backs off and tries them again
// (default DefaultPublishTimeout).
func WithPublishTimeout(d time.Duration) Option { return func(c *config) { c.publishTimeout = d } }

// WithBackoff sets the relay's delays after a failed round (broker or
// database unreachable): min first, doubling up to max (defaults
// DefaultMinBackoff and DefaultMaxBackoff).
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) { c.minBackoff, c.maxBackoff = min, max }
}

// WithLogger sets where the relay logs its trouble (default: the bus's
// logger).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithoutMigration makes New use the tables as they are instead of
// creating them if missing, for deployments whose migrations create them
// (the statements are in the package documentation).
func WithoutMigration() Option { return func(c *config) { c.noMigrate = true } }

// New returns an outbox on db that relays to b, creating its tables if
// they are missing (see WithoutMigration). db must use pgx's database/sql
// driver (github.com/jackc/pgx/v5/stdlib) or modernc.org/sqlite; open
// SQLite databases with SQLiteDSN. The outbox does not close db or b.
func New(db *sql.DB, b *bus.Bus, opts ...Option) (*Outbox, error) {
	if db == nil || b == nil {
		return nil, errors.New("choreo/outbox: New needs a database and a bus")
	}
	d, err := dialectOf(db)
	if err != nil {
		return nil, err
	}
	cfg := newConfig(d, b, opts)
	o := &Outbox{db: db, bus: b, d: d, cfg: cfg, poke: make(chan struct{}, 1)}
	if !cfg.noMigrate {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := migrate(ctx, db, d, d.outboxSchema()); err != nil {
			return nil, fmt.Errorf("choreo/outbox: creating the outbox tables: %w", err)
		}
	}
	return o, nil
}

func newConfig(d dialect, b *bus.Bus, opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.batch <= 0 {
		c.batch = DefaultBatch
	}
	switch {
	case d.name == sqliteName:
		c.workers = 1
	case c.workers <= 0:
		c.workers = DefaultPostgresWorker
	case c.workers > Partitions:
		c.workers = Partitions
	}
	if c.poll <= 0 {
		c.poll = time.Second
		if d.name == sqliteName {
			c.poll = 50 * time.Millisecond
		}
	}
	if c.publishTimeout <= 0 {
		c.publishTimeout = DefaultPublishTimeout
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = max(DefaultMaxBackoff, c.minBackoff)
	}
	if c.logger == nil {
		c.logger = b.Logger()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// dialectOf tells the database by its driver.
func dialectOf(db *sql.DB) (dialect, error) {
	switch db.Driver().(type) {
	case *stdlib.Driver:
		return postgres, nil
	case *sqlite.Driver:
		return sqliteDialect, nil
	}
	return dialect{}, fmt.Errorf("%w %T: open the database with pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib, driver name \"pgx\") or modernc.org/sqlite (driver name \"sqlite\")", ErrUnsupportedDriver, db.Driver())
}

// migrate runs statements in one transaction; on PostgreSQL under an
// advisory lock, so that instances starting together do not trip over
// each other's CREATE ... IF NOT EXISTS.
func migrate(ctx context.Context, db *sql.DB, d dialect, statements []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if d.name == postgresName {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7135520391)"); err != nil {
			return err
		}
	}
	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w (statement: %.60s...)", err, s)
		}
	}
	return tx.Commit()
}
