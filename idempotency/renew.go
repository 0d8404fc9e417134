package idempotency

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// renewal keeps one claim's lease alive while its handler runs, so that the
// lease can be short (a dead instance blocks its keys only briefly) without
// limiting how long a handler may take. A timer renews the lease every third
// of it, which leaves two more tries if one renewal fails; stop ends it
// before the handler's outcome is recorded. The timer's goroutine exists
// only while a renewal is running, on behalf of the handler call that
// started it.
//
// Renewals are pooled per middleware with their timer, so that the common
// case, a handler done within a third of its lease, allocates nothing for
// them.
type renewal struct {
	g      *guard
	every  time.Duration
	timer  *time.Timer // calls extend
	mu     sync.Mutex  // held across Extend, so that stop waits for it
	claim  Claim
	logger *slog.Logger
	// stopped is set by stop; a renewal that fires after it does nothing.
	stopped bool
}

// renew starts renewing c's lease and returns the renewal to stop.
func (g *guard) renew(c Claim, logger *slog.Logger) *renewal {
	r, _ := g.renewals.Get().(*renewal)
	if r == nil {
		r = &renewal{g: g, every: max(g.cfg.lease/3, time.Millisecond)}
		r.timer = time.AfterFunc(time.Hour, r.extend)
		r.timer.Stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.claim, r.logger, r.stopped = c, logger, false
	r.timer.Reset(r.every)
	return r
}

// extend runs on the timer's goroutine.
func (r *renewal) extend() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.every)
	c, err := r.g.store.Extend(ctx, r.claim, r.g.cfg.lease)
	cancel()
	switch {
	case err == nil:
		r.claim = c
	case errors.Is(err, ErrLeaseLost):
		r.logger.LogAttrs(ctx, slog.LevelWarn, "idempotency: lease lost while the handler runs; another instance may run it too",
			slog.String("dedupe_key", r.claim.Key.String()), slog.Any("error", err))
		return // nothing left to renew
	default:
		r.logger.LogAttrs(ctx, slog.LevelWarn, "idempotency: could not renew the lease; will try again",
			slog.String("dedupe_key", r.claim.Key.String()), slog.Any("error", err))
	}
	r.timer.Reset(r.every)
}

// stop ends the renewal, waiting for one in flight, and returns the claim
// as last renewed. r must not be used afterwards.
func (r *renewal) stop() Claim {
	r.mu.Lock()
	r.stopped = true
	// Stop reports false if extend has started (and is perhaps waiting for
	// the lock): then r stays out of the pool, since that extend still
	// looks at it.
	idle := r.timer.Stop()
	c := r.claim
	r.logger = nil
	r.mu.Unlock()
	if idle {
		r.g.renewals.Put(r)
	}
	return c
}
