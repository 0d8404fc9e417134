package idempotency

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/choreo-bus/choreo/bus"
)

// Recording a handler's outcome. Both calls run even when the handler's
// context was cancelled (a shutdown, a handler deadline), so that keys are
// not left claimed until their leases end.
const (
	// releaseTimeout bounds the one Release attempt after a failure.
	releaseTimeout = 5 * time.Second
	// Complete attempts take a sixth of the lease, within these bounds, so
	// that several fit in a lease when the store is failing over.
	minCompleteAttempt = time.Second
	maxCompleteAttempt = 5 * time.Second
	// Delays between Complete attempts, doubling.
	firstCompleteRetry = 100 * time.Millisecond
	maxCompleteRetry   = time.Second
)

// complete records the key as done. The handler's effects have happened, so
// failures are not returned (a redelivery would run the handler again);
// instead Complete is tried again until the claim's lease ends. The claim
// keeps every copy of the message out until then, so a done record written
// late (say, once the store has a new leader) is still in time, even if the
// message's own ack is lost as well.
func (g *guard) complete(ctx context.Context, d *bus.Delivery, c Claim) {
	until := c.Until
	if until.IsZero() {
		until = time.Now().Add(g.cfg.lease)
	}
	err := g.completeOnce(ctx, c, until)
	if err == nil {
		return
	}
	log := g.logger(d)
	level := slog.LevelWarn // the first failure; later ones at Debug
	for attempt, delay := 1, firstCompleteRetry; !errors.Is(err, ErrLeaseLost); attempt, delay = attempt+1, min(2*delay, maxCompleteRetry) {
		left := time.Until(until)
		if left <= 0 {
			log.LogAttrs(ctx, slog.LevelError, "idempotency: handler succeeded but the key could not be recorded as done before its lease ended; a copy arriving now would run it again",
				slog.String("dedupe_key", c.Key.String()), slog.Int("attempts", attempt), slog.Any("error", err))
			return
		}
		log.LogAttrs(ctx, level, "idempotency: could not record the key as done; retrying until the lease ends",
			slog.String("dedupe_key", c.Key.String()), slog.Duration("lease_left", left), slog.Any("error", err))
		level = slog.LevelDebug
		time.Sleep(min(delay, left))
		if err = g.completeOnce(ctx, c, until); err == nil {
			log.LogAttrs(ctx, slog.LevelInfo, "idempotency: key recorded as done after retries",
				slog.String("dedupe_key", c.Key.String()), slog.Int("attempts", attempt+1))
			return
		}
	}
	log.LogAttrs(ctx, slog.LevelWarn, "idempotency: handler finished after its lease was lost; another instance may have run it too (raise WithLease?)",
		slog.String("dedupe_key", c.Key.String()), slog.Any("error", err))
}

func (g *guard) completeOnce(ctx context.Context, c Claim, until time.Time) error {
	attempt := min(max(g.cfg.lease/6, minCompleteAttempt), maxCompleteAttempt)
	if left := time.Until(until); left > 0 {
		attempt = min(attempt, left)
	}
	actx, cancel := g.outcomeContext(ctx, attempt)
	defer cancel()
	return g.store.Complete(actx, c, g.cfg.retention)
}

// release frees the key after a failure so that the retry runs the handler.
// One attempt: if it fails, the retry just waits for the lease to end.
func (g *guard) release(ctx context.Context, d *bus.Delivery, c Claim) {
	rctx, cancel := g.outcomeContext(ctx, releaseTimeout)
	defer cancel()
	err := g.store.Release(rctx, c)
	switch {
	case err == nil, errors.Is(err, ErrLeaseLost):
	default:
		g.logger(d).LogAttrs(ctx, slog.LevelWarn, "idempotency: could not release the key after a failure; the retry waits for the lease to end",
			slog.String("dedupe_key", c.Key.String()), slog.Any("error", err))
	}
}

// outcomeContext returns the context of one call that records an outcome:
// detached from the handler's cancellation and bounded by timeout. The
// memory store never blocks, so it gets the handler's own context while
// that is live, which costs no allocation.
func (g *guard) outcomeContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, local := g.store.(*MemoryStore); local {
		if ctx.Err() == nil {
			return ctx, func() {}
		}
		return context.WithoutCancel(ctx), func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
