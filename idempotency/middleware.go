package idempotency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/choreo-bus/choreo/bus"
)

// Middleware makes the handlers it wraps idempotent: a message whose key
// was already handled successfully is acknowledged without running the
// handler again. For every delivery it
//
//   - claims the key (scope: the consumer; ID: the ce-source and ce-id, or
//     WithKey) for a
//     lease, renewed while the handler runs;
//   - if it got the claim, runs the handler; on success marks the key done
//     for the retention (retrying until the lease ends if the store fails)
//     and acks; on failure (an error or a panic) releases the key and passes
//     the failure on, so the retry runs the handler again;
//   - if the key is done, acks without running the handler (logged at Debug);
//   - if another instance holds the key, returns an error matching ErrBusy
//     wrapped in bus.RetryAfter, so the message comes back once the holder
//     has finished or its lease has run out;
//   - if the store fails, returns an error matching ErrStoreUnavailable and
//     does not run the handler, unless WithFailOpen was given.
//
// With a TxStore (the database inbox of package outbox) the handler runs
// inside the store's transaction, and the done record is written in it
// before it commits: the handler's database effects and the record commit
// together, and a failure (or a lost claim, or a failed commit) rolls both
// back and releases the key.
//
// Place it inside middleware that might fail a message after the handler
// succeeded, so that their failure cannot undo a done record. It panics if
// s is nil. The returned middleware is safe for concurrent use.
func Middleware(s Store, opts ...Option) bus.Middleware {
	if s == nil {
		panic("idempotency: Middleware needs a Store: NewMemoryStore() or NewKVStore(ctx, js, bucket)")
	}
	cfg := newConfig(opts)
	return func(next bus.HandlerFunc) bus.HandlerFunc {
		g := &guard{store: s, cfg: cfg, next: next}
		return g.handle
	}
}

// guard is one wrapped handler.
type guard struct {
	store    Store
	cfg      config
	next     bus.HandlerFunc
	renewals sync.Pool // of *renewal
}

func (g *guard) handle(ctx context.Context, d *bus.Delivery) error {
	key := Key{Scope: g.cfg.scope(d), ID: g.cfg.key(d)}
	if g.cfg.bySource && d.Envelope != nil {
		key.Source = d.Envelope.Source
	}
	if key.ID == "" {
		return bus.Permanent(fmt.Errorf("%w: message %d of stream %s has none (ce-id empty, or the WithKey function returned \"\"); fix the key and redeliver it from the dead-letter queue",
			ErrNoKey, d.StreamSequence, d.Stream))
	}
	c, err := g.store.Claim(ctx, key, g.cfg.lease)
	if err != nil {
		return g.storeFailed(ctx, d, key, err)
	}
	switch c.Status {
	case Done:
		if l := g.logger(d); l.Enabled(ctx, slog.LevelDebug) {
			l.LogAttrs(ctx, slog.LevelDebug, "idempotency: duplicate acknowledged without running the handler",
				slog.String("dedupe_scope", key.Scope), slog.String("dedupe_key", key.ID))
		}
		return nil
	case Busy:
		return bus.RetryAfter(busyError(key, c.Until), g.busyDelay(d.Attempt, c.Until, time.Now()))
	case Acquired:
		return g.run(ctx, d, c)
	default:
		return fmt.Errorf("%w: Claim of %q returned status %d, which is no Status; the store is broken", ErrStoreUnavailable, key.String(), c.Status)
	}
}

// run runs the handler under the claim c and records the outcome.
func (g *guard) run(ctx context.Context, d *bus.Delivery, c Claim) error {
	if ts, ok := g.store.(TxStore); ok {
		return g.runInTx(ctx, d, c, ts)
	}
	r := g.renew(c, g.logger(d))
	returned := false
	defer func() {
		if !returned { // the handler panicked: let the retry run it again
			g.release(ctx, d, r.stop())
		}
	}()
	err := g.next(ctx, d)
	returned = true
	c = r.stop()
	if err != nil {
		g.release(ctx, d, c)
		return err
	}
	g.complete(ctx, d, c)
	return nil
}

func (g *guard) storeFailed(ctx context.Context, d *bus.Delivery, key Key, err error) error {
	if errors.Is(err, ErrNoKey) {
		return bus.Permanent(err)
	}
	if errors.Is(ctx.Err(), context.Canceled) { // shutting down: not the store's fault
		return err
	}
	if g.cfg.failOpen {
		g.logger(d).LogAttrs(ctx, slog.LevelWarn, "idempotency: store unavailable, running the handler unguarded (WithFailOpen)",
			slog.String("dedupe_key", key.String()), slog.Any("error", err))
		return g.next(ctx, d)
	}
	return fmt.Errorf("%w: claim of %q: %w", ErrStoreUnavailable, key.String(), err)
}

func busyError(key Key, until time.Time) error {
	if until.IsZero() {
		return fmt.Errorf("%w: key %q is claimed", ErrBusy, key.String())
	}
	return fmt.Errorf("%w: key %q is claimed until %s", ErrBusy, key.String(), until.UTC().Format(time.RFC3339Nano))
}

// busyDelay is when to look at a busy key again: the busy delay doubled per
// delivery attempt, but no later than just after the holder's lease ends.
func (g *guard) busyDelay(attempt int, until, now time.Time) time.Duration {
	const (
		maxDoublings = 10
		afterLease   = 100 * time.Millisecond // lets a store with a coarser clock catch up
		least        = 10 * time.Millisecond
	)
	delay := g.cfg.busyDelay << min(max(attempt-1, 0), maxDoublings)
	limit := g.cfg.lease
	if !until.IsZero() {
		limit = until.Sub(now) + afterLease
	}
	return max(min(delay, limit), least)
}

func (g *guard) logger(d *bus.Delivery) *slog.Logger {
	switch {
	case g.cfg.logger != nil:
		return g.cfg.logger
	case d.Logger != nil:
		return d.Logger
	default:
		return discard
	}
}

// discard is the logger of deliveries that have none. It is never modified.
var discard = slog.New(slog.DiscardHandler)

// runInTx runs the handler under the claim c in the store's transaction,
// which records the key as done when it commits. The lease is renewed while
// the handler runs and the renewal stopped before the done record is
// written, so the two never race.
func (g *guard) runInTx(ctx context.Context, d *bus.Delivery, c Claim, ts TxStore) error {
	r := g.renew(c, g.logger(d))
	stopped := false
	stop := func() Claim {
		if !stopped {
			stopped = true
			c = r.stop()
		}
		return c
	}
	returned := false
	defer func() {
		if !returned { // the handler panicked: let the retry run it again
			g.release(ctx, d, stop())
		}
	}()
	err := ts.RunInTx(ctx, g.cfg.retention, func(ctx context.Context) (Claim, error) {
		err := g.next(ctx, d)
		return stop(), err
	})
	returned = true
	c = stop()
	if err != nil {
		g.release(ctx, d, c)
		return err
	}
	return nil
}
