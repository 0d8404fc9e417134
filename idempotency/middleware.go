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

// cleanupTimeout bounds the Complete and Release calls made after the
// handler returned; they run even when the handler's context was cancelled,
// so that a shutdown does not leave keys claimed until their leases end.
const cleanupTimeout = 5 * time.Second

// Middleware makes the handlers it wraps idempotent: a message whose key
// was already handled successfully is acknowledged without running the
// handler again. For every delivery it
//
//   - claims the key (scope: the consumer; ID: the ce-id, or WithKey) for a
//     lease, renewed while the handler runs;
//   - if it got the claim, runs the handler; on success marks the key done
//     for the retention and acks; on failure (an error or a panic) releases
//     the key and passes the failure on, so the retry runs the handler again;
//   - if the key is done, acks without running the handler (logged at Debug);
//   - if another instance holds the key, returns an error matching ErrBusy
//     wrapped in bus.RetryAfter, so the message comes back once the holder
//     has finished or its lease has run out;
//   - if the store fails, returns an error matching ErrStoreUnavailable and
//     does not run the handler, unless WithFailOpen was given.
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

// complete marks the key done. Its failures are logged, not returned: the
// handler's effects have happened, and a redelivery would only run it again
// once the lease ran out.
func (g *guard) complete(ctx context.Context, d *bus.Delivery, c Claim) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := g.store.Complete(cctx, c, g.cfg.retention)
	switch {
	case err == nil:
	case errors.Is(err, ErrLeaseLost):
		g.logger(d).LogAttrs(ctx, slog.LevelWarn, "idempotency: handler finished after its lease was lost; another instance may have run it too (raise WithLease?)",
			slog.String("dedupe_key", c.Key.String()), slog.Any("error", err))
	default:
		g.logger(d).LogAttrs(ctx, slog.LevelError, "idempotency: handler succeeded but the key could not be recorded as done; a copy arriving after the lease ends would run it again",
			slog.String("dedupe_key", c.Key.String()), slog.Any("error", err))
	}
}

// release frees the key after a failure so that the retry runs the handler.
func (g *guard) release(ctx context.Context, d *bus.Delivery, c Claim) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := g.store.Release(cctx, c)
	switch {
	case err == nil, errors.Is(err, ErrLeaseLost):
	default:
		g.logger(d).LogAttrs(ctx, slog.LevelWarn, "idempotency: could not release the key after a failure; the retry waits for the lease to end",
			slog.String("dedupe_key", c.Key.String()), slog.Any("error", err))
	}
}

// cleanupContext returns the context for recording a handler's outcome:
// the handler's own while it has time left, else one detached from its
// cancellation with cleanupTimeout to go, so that a handler that used up its
// deadline, or a shutdown, still gets its outcome recorded. The common case
// costs no allocation.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > cleanupTimeout {
			return ctx, func() {}
		}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
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
