package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/outbox"
)

// accounts owns user accounts. It handles the command v1.user.signup: it
// validates the form, stores the user in its SQLite database and announces
// v1.user.signedup through the transactional outbox, in the same
// transaction as the user: the event is published if and only if the user
// was stored, whatever crashes. It knows nothing of email or metrics; they
// react to its event.
type accounts struct {
	b       *bus.Bus
	console *console
	db      *sql.DB
	outbox  *outbox.Outbox
	dir     string // the database's temporary directory

	stopRelay context.CancelFunc
	relayDone chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once
}

var (
	errInvalidEmail = errors.New("invalid email address")
	errEmailTaken   = errors.New("email address already has an account")
)

// startAccounts makes the service handle v1.user.signup on b, with its
// database in a temporary directory and its outbox relay running until
// close.
func startAccounts(ctx context.Context, b *bus.Bus, c *console) (*accounts, error) {
	dir, err := os.MkdirTemp("", "signup-accounts-")
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	a := &accounts{b: b, console: c, dir: dir, relayDone: make(chan struct{})}
	if err := a.open(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The relay publishes what the handler commits to the outbox, with the
	// ids fixed at commit; it keeps the rows while the broker is away.
	relayCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopRelay = stop
	go func() {
		defer close(a.relayDone)
		if err := a.outbox.Run(relayCtx); err != nil {
			b.Logger().Error("accounts: outbox relay stopped", "error", err)
		}
	}()
	// HandleCommand: every instance of accounts shares one durable consumer,
	// so each signup is handled once, even with many instances running.
	_, err = bus.HandleCommand(ctx, b, topics.UserSignupV1Command, a.signup, bus.Use(c.outcomes("accounts")))
	if err != nil {
		a.close()
		return nil, fmt.Errorf("accounts: handling %s: %w", topics.TopicUserSignupV1, err)
	}
	return a, nil
}

func (a *accounts) open() error {
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(filepath.Join(a.dir, "accounts.db")))
	if err != nil {
		return fmt.Errorf("accounts: opening the database: %w", err)
	}
	a.db = db
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS users (
	user_id      TEXT PRIMARY KEY,
	email        TEXT NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	signed_up_at TEXT NOT NULL,
	command_id   TEXT NOT NULL
)`); err != nil {
		_ = db.Close()
		return fmt.Errorf("accounts: creating the users table: %w", err)
	}
	if a.outbox, err = outbox.New(db, a.b); err != nil {
		_ = db.Close()
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}

// stop stops the outbox relay and waits for it; events it has not
// relayed yet stay in the outbox for the next start. Stop it before the
// bus is closed.
func (a *accounts) stop() {
	a.stopOnce.Do(func() {
		if a.stopRelay != nil {
			a.stopRelay()
			<-a.relayDone
		}
	})
}

// close stops the relay and closes and removes the database.
func (a *accounts) close() {
	a.stop()
	a.closeOnce.Do(func() {
		_ = a.db.Close()
		_ = os.RemoveAll(a.dir)
	})
}

// signup handles one v1.user.signup command.
func (a *accounts) signup(ctx context.Context, m *bus.Message[topics.UserSignupV1]) error {
	addr, err := mail.ParseAddress(m.Data.Email)
	if err != nil || addr.Address != m.Data.Email { // "Ada <ada@x.org>" is no address
		// No retry can fix a malformed address: Permanent parks the command
		// in the dead-letter queue at once, with this reason attached.
		return bus.Permanent(fmt.Errorf("%w %q", errInvalidEmail, m.Data.Email))
	}
	u, eventID, err := a.create(ctx, m.Data, m.Envelope.ID)
	if errors.Is(err, errEmailTaken) {
		return bus.Permanent(err) // a business rule: retrying changes nothing
	}
	if err != nil {
		return err // anything else may pass: retry after the back-off
	}
	if eventID == "" {
		// A redelivery of a command whose transaction committed: the user
		// and its event were stored together then, so there is nothing to
		// announce again.
		a.console.received("accounts", m.Envelope, "user %s exists from this command's earlier delivery; its event is already in the outbox", short(u.UserID))
		return nil
	}
	a.console.received("accounts", m.Envelope, "created user %s for %s", short(u.UserID), u.Email)
	a.console.sent("accounts", topics.TopicUserSignedupV1, eventID, m.Envelope, "announces user %s", short(u.UserID))
	return nil
}

// create stores a new user and its v1.user.signedup event in one
// transaction and returns the event's id, or returns the user this same
// command created on an earlier delivery (commands arrive at least once)
// with no event id.
func (a *accounts) create(ctx context.Context, form topics.UserSignupV1, commandID string) (topics.UserSignedupV1, string, error) {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return topics.UserSignedupV1{}, "", fmt.Errorf("beginning a transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	var existing topics.UserSignedupV1
	var existingCommand string
	err = tx.QueryRowContext(ctx, `SELECT user_id, email, name, command_id FROM users WHERE email = $1`, form.Email).
		Scan(&existing.UserID, &existing.Email, &existing.Name, &existingCommand)
	switch {
	case err == nil && existingCommand == commandID:
		return existing, "", nil
	case err == nil:
		return topics.UserSignedupV1{}, "", fmt.Errorf("%w: %s", errEmailTaken, form.Email)
	case !errors.Is(err, sql.ErrNoRows):
		return topics.UserSignedupV1{}, "", fmt.Errorf("looking up %s: %w", form.Email, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return topics.UserSignedupV1{}, "", fmt.Errorf("making a user id: %w", err)
	}
	u := topics.UserSignedupV1{UserID: id.String(), Email: form.Email, Name: form.Name, SignedUpAt: time.Now().UTC()}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (user_id, email, name, signed_up_at, command_id) VALUES ($1, $2, $3, $4, $5)`,
		u.UserID, u.Email, u.Name, u.SignedUpAt.Format(time.RFC3339Nano), commandID); err != nil {
		return topics.UserSignedupV1{}, "", fmt.Errorf("storing user %s: %w", u.Email, err)
	}
	// The handler's ctx makes the event continue the command's chain: same
	// correlation id, and the command's id as causation id. The event is
	// built now and published by the relay once the transaction commits.
	eventID, err := outbox.Publish(ctx, tx, a.outbox, topics.UserSignedupV1Event, u, bus.WithSubject(u.UserID))
	if err != nil {
		return topics.UserSignedupV1{}, "", fmt.Errorf("announcing user %s: %w", u.UserID, err)
	}
	if err := tx.Commit(); err != nil {
		return topics.UserSignedupV1{}, "", fmt.Errorf("committing user %s: %w", u.Email, err)
	}
	return u, eventID, nil
}

// count is the number of accounts, for the summary.
func (a *accounts) count() int {
	var n int
	if err := a.db.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		return -1
	}
	return n
}
