package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/choreo-bus/choreo/idempotency"
)

// Inbox is an idempotency store in the service's own database (table
// choreo_inbox): the database inbox. With idempotency.Middleware it runs
// each handler in a transaction that also records the message as done, so
// the handler's effects on that database and the done record commit
// together or not at all; the handler reaches the transaction with Tx(ctx).
// A crash after the commit but before the broker's ack is then harmless:
// the redelivered copy finds the key done and is acknowledged without
// running the handler.
//
// Use it when the handler's effect is a write to this database. Use the KV
// inbox (idempotency.NewKVStore) when the effect is elsewhere (a call to
// another service, an email, a file), where no transaction can cover it;
// there a crash between the effect and the done record repeats the effect.
//
// Leases and retention are measured by the clocks of the processes that
// share the database, in microseconds; keep them synchronised (NTP). It
// implements idempotency.Store and idempotency.TxStore and is safe for
// concurrent use.
type Inbox struct {
	db     *sql.DB
	d      dialect
	claims atomic.Uint64 // counts claims, to prune expired rows now and then
}

// pruneEvery is how many claims pass between deletions of expired rows.
const pruneEvery = 1000

// NewInbox returns the database inbox on db, creating its table if it is
// missing. db must use pgx's database/sql driver or modernc.org/sqlite (see
// New).
func NewInbox(db *sql.DB) (*Inbox, error) {
	if db == nil {
		return nil, errors.New("choreo/outbox: NewInbox needs a database")
	}
	d, err := dialectOf(db)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := migrate(ctx, db, d, d.inboxSchema()); err != nil {
		return nil, fmt.Errorf("choreo/outbox: creating the inbox table: %w", err)
	}
	return &Inbox{db: db, d: d}, nil
}

// execer is what the inbox writes through: the database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Claim implements idempotency.Store.
func (s *Inbox) Claim(ctx context.Context, key idempotency.Key, lease time.Duration) (idempotency.Claim, error) {
	if key.ID == "" {
		return idempotency.Claim{}, fmt.Errorf("%w: claim of %q: give every message an ID", idempotency.ErrNoKey, key.String())
	}
	if s.claims.Add(1)%pruneEvery == 0 {
		s.prune(ctx)
	}
	for range 3 { // a key can change hands between the take and the look
		token := newToken()
		until := time.Now().Add(lease)
		took, err := s.take(ctx, s.db, key, false, token, until)
		if err != nil {
			return idempotency.Claim{}, s.fail("claim", key, err)
		}
		if took {
			return idempotency.Claim{Key: key, Status: idempotency.Acquired, Token: token, Until: until}, nil
		}
		var done bool
		var untilUS int64
		err = s.db.QueryRowContext(ctx, s.d.q(`SELECT done, until_us FROM choreo_inbox WHERE scope = $1 AND source = $2 AND id = $3`),
			keyArgs(key)...).Scan(&done, &untilUS)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released meanwhile: take it again
		}
		if err != nil {
			return idempotency.Claim{}, s.fail("claim", key, err)
		}
		if time.Now().UnixMicro() >= untilUS {
			continue // ran out meanwhile
		}
		st := idempotency.Busy
		if done {
			st = idempotency.Done
		}
		return idempotency.Claim{Key: key, Status: st, Until: time.UnixMicro(untilUS)}, nil
	}
	return idempotency.Claim{Key: key, Status: idempotency.Busy, Until: time.Now().Add(lease)}, nil
}

// Extend implements idempotency.Store; the Token stays the same.
func (s *Inbox) Extend(ctx context.Context, c idempotency.Claim, lease time.Duration) (idempotency.Claim, error) {
	until := time.Now().Add(lease)
	if err := s.replace(ctx, s.db, c, false, until); err != nil {
		return idempotency.Claim{}, s.fail("extend", c.Key, err)
	}
	c.Status, c.Until = idempotency.Acquired, until
	return c, nil
}

// Complete implements idempotency.Store.
func (s *Inbox) Complete(ctx context.Context, c idempotency.Claim, retention time.Duration) error {
	if err := s.replace(ctx, s.db, c, true, time.Now().Add(retention)); err != nil {
		return s.fail("complete", c.Key, err)
	}
	return nil
}

// Release implements idempotency.Store.
func (s *Inbox) Release(ctx context.Context, c idempotency.Claim) error {
	args := append(keyArgs(c.Key), int64(c.Token))
	res, err := s.db.ExecContext(ctx, s.d.q(`DELETE FROM choreo_inbox WHERE scope = $1 AND source = $2 AND id = $3 AND token = $4 AND done = FALSE`), args...)
	if err != nil {
		return s.fail("release", c.Key, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var untilUS int64
	err = s.db.QueryRowContext(ctx, s.d.q(`SELECT until_us FROM choreo_inbox WHERE scope = $1 AND source = $2 AND id = $3`), keyArgs(c.Key)...).Scan(&untilUS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // free already
	case err != nil:
		return s.fail("release", c.Key, err)
	case time.Now().UnixMicro() >= untilUS:
		return nil // expired: free
	}
	return s.fail("release", c.Key, idempotency.ErrLeaseLost)
}

// replace writes the claim c's row (done, until) if c still holds the key,
// or takes the key again if it is free; otherwise ErrLeaseLost.
func (s *Inbox) replace(ctx context.Context, x execer, c idempotency.Claim, done bool, until time.Time) error {
	args := append(keyArgs(c.Key), done, until.UnixMicro(), int64(c.Token))
	res, err := x.ExecContext(ctx, s.d.q(`UPDATE choreo_inbox SET done = $4, until_us = $5
WHERE scope = $1 AND source = $2 AND id = $3 AND token = $6 AND done = FALSE`), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	took, err := s.take(ctx, x, c.Key, done, c.Token, until)
	if err != nil {
		return err
	}
	if !took {
		return idempotency.ErrLeaseLost
	}
	return nil
}

// take writes the key's row if the key is free (no row, or its lease or
// retention has ended) and reports whether it did. Of concurrent takes of
// one free key exactly one succeeds: the insert, or the update of an
// expired row, is one statement that the database serialises per key.
func (s *Inbox) take(ctx context.Context, x execer, key idempotency.Key, done bool, token uint64, until time.Time) (bool, error) {
	args := append(keyArgs(key), done, int64(token), until.UnixMicro(), time.Now().UnixMicro())
	var got int64
	err := x.QueryRowContext(ctx, s.d.q(`INSERT INTO choreo_inbox (scope, source, id, done, token, until_us) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (scope, source, id) DO UPDATE SET done = excluded.done, token = excluded.token, until_us = excluded.until_us
WHERE choreo_inbox.until_us <= $7
RETURNING token`), args...).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got == int64(token), nil
}

// prune deletes rows whose lease or retention has ended; a failure only
// postpones it.
func (s *Inbox) prune(ctx context.Context) {
	_, _ = s.db.ExecContext(ctx, s.d.q(`DELETE FROM choreo_inbox WHERE until_us < $1`), time.Now().UnixMicro())
}

func (s *Inbox) fail(op string, key idempotency.Key, err error) error {
	return fmt.Errorf("choreo/outbox: inbox %s of %q: %w", op, key.String(), err)
}

func keyArgs(k idempotency.Key) []any {
	return []any{[]byte(k.Scope), []byte(k.Source), []byte(k.ID)}
}

// newToken is a random non-zero token: claims of one key never share one
// (2^-63 aside), even across a release that deleted the row.
func newToken() uint64 {
	for {
		if t := rand.Uint64() >> 1; t != 0 {
			return t
		}
	}
}
