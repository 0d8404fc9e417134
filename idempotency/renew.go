package idempotency

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/choreo-bus/choreo/bus"
)

// renewal keeps one claim's lease alive while its handler runs, so that the
// lease can be short (a dead instance blocks its keys only briefly) without
// limiting how long a handler may take. A timer renews the lease every third
// of it, which leaves two more tries if one renewal fails; stop ends it
// before the handler's outcome is recorded. The timer's goroutine exists
// only while a renewal is due and is owned by the handler call that started
// it.
type renewal struct {
	mu      sync.Mutex // held across Extend, so that stop waits for it
	claim   Claim
	timer   *time.Timer
	stopped bool
}

// renew starts renewing c's lease and returns the renewal to stop.
func (g *guard) renew(ctx context.Context, d *bus.Delivery, c Claim) *renewal {
	every := max(g.cfg.lease/3, time.Millisecond)
	r := &renewal{claim: c}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = time.AfterFunc(every, func() { g.extend(ctx, d, r, every) })
	return r
}

// extend runs on the timer's goroutine.
func (g *guard) extend(ctx context.Context, d *bus.Delivery, r *renewal, every time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
	c, err := g.store.Extend(ectx, r.claim, g.cfg.lease)
	cancel()
	switch {
	case err == nil:
		r.claim = c
	case errors.Is(err, ErrLeaseLost):
		g.logger(d).LogAttrs(ctx, slog.LevelWarn, "idempotency: lease lost while the handler runs; another instance may run it too",
			slog.String("dedupe_key", r.claim.Key.String()), slog.Any("error", err))
		return // nothing left to renew
	default:
		g.logger(d).LogAttrs(ctx, slog.LevelWarn, "idempotency: could not renew the lease; will try again",
			slog.String("dedupe_key", r.claim.Key.String()), slog.Any("error", err))
	}
	r.timer.Reset(every)
}

// stop ends the renewal, waiting for one in flight, and returns the claim
// as last renewed.
func (r *renewal) stop() Claim {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.timer.Stop()
	return r.claim
}
