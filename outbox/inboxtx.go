package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/choreo-bus/choreo/idempotency"
)

// txKey carries the inbox's transaction in a handler's context.
type txKey struct{}

// Tx returns the database transaction a handler guarded by the database
// inbox runs in, or nil outside one. Write the handler's effects through
// it (and outbox.Publish through it too): they commit together with the
// message's done record when the handler returns nil, and are rolled back
// when it fails. Do not commit or roll it back yourself.
func Tx(ctx context.Context) *sql.Tx {
	tx, _ := ctx.Value(txKey{}).(*sql.Tx)
	return tx
}

// RunInTx implements idempotency.TxStore: it runs work in a new
// transaction, reachable with Tx, and records the claim work returns as
// done in it before committing.
func (s *Inbox) RunInTx(ctx context.Context, retention time.Duration, work func(ctx context.Context) (idempotency.Claim, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("choreo/outbox: inbox: beginning the handler's transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after a commit, or a panic in work
	c, err := work(context.WithValue(ctx, txKey{}, tx))
	if err != nil {
		return err
	}
	if err := s.replace(ctx, tx, c, true, time.Now().Add(retention)); err != nil {
		return s.fail("complete", c.Key, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("choreo/outbox: inbox: committing the handler's transaction for %q: %w", c.Key.String(), err)
	}
	return nil
}
