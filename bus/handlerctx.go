package bus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// handlerContext is the ctx a handler runs with: the subscription's ctx, the
// Delivery being handled (for DeliveryFrom) and the handler deadline.
//
// It exists for speed. context.WithDeadline(context.WithValue(...)) costs
// every delivery four allocations, a timer, and a turn on the parent's
// mutex to register (and later unregister) the child, which all workers of
// a subscription share. Most handlers never wait on ctx.Done(): they decode,
// write and return. So the Delivery lives inside the context (one
// allocation for both), and the timer-backed context is made only when
// somebody first asks for Done. Err and Deadline answer without it.
//
// Semantics match context.WithDeadline: Done closes at the deadline, when
// the parent is done, or when the handler has returned (finish); Err says
// which, and stays set once Done is closed.
type handlerContext struct {
	parent   context.Context
	deadline time.Time
	delivery Delivery

	// materialized is the timer-backed context, once Done was called.
	materialized atomic.Pointer[context.Context]
	mu           sync.Mutex // guards the fields below, and making materialized
	cancel       context.CancelFunc
	finished     bool
	err          error // the first non-nil Err, returned from then on
}

// setDeadline sets the handler deadline before the handler starts,
// clipped to the parent's, as WithDeadline does.
func (h *handlerContext) setDeadline(deadline time.Time) {
	if pd, ok := h.parent.Deadline(); ok && pd.Before(deadline) {
		deadline = pd
	}
	h.deadline = deadline
}

// Deadline implements context.Context.
func (h *handlerContext) Deadline() (time.Time, bool) { return h.deadline, true }

// Done implements context.Context; the first call makes the timer.
func (h *handlerContext) Done() <-chan struct{} { return h.materialize().Done() }

// Err implements context.Context without making the timer unless Done was
// already called. The first error it returns is kept, so a deadline that
// passed stays DeadlineExceeded when the parent is cancelled afterwards,
// as with WithDeadline.
func (h *handlerContext) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	var err error
	switch m := h.materialized.Load(); {
	case m != nil:
		err = (*m).Err()
	case h.parent.Err() != nil:
		err = h.parent.Err()
	case !time.Now().Before(h.deadline):
		err = context.DeadlineExceeded
	}
	h.err = err
	return err
}

// Value implements context.Context: the Delivery, then whatever the
// timer-backed context (once made) or the parent holds. Going through the
// made context lets context.WithCancel(ctx) and context.Cause see its
// cancellation directly instead of watching Done from a goroutine.
func (h *handlerContext) Value(key any) any {
	if _, ok := key.(deliveryKey); ok {
		return &h.delivery
	}
	if m := h.materialized.Load(); m != nil {
		return (*m).Value(key)
	}
	return h.parent.Value(key)
}

// String names the context in panics and logs, as the standard ones do.
func (h *handlerContext) String() string { return "choreo handler context" }

func (h *handlerContext) materialize() context.Context {
	if m := h.materialized.Load(); m != nil {
		return *m
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.materialized.Load(); m != nil {
		return *m
	}
	ctx, cancel := context.WithDeadline(h.parent, h.deadline)
	if h.finished {
		cancel() // asked after the handler returned: already over
	}
	h.cancel = cancel
	h.materialized.Store(&ctx)
	return ctx
}

// finish ends the context when the handler returns, as a deferred cancel
// would; goroutines the handler left behind see Done closed.
func (h *handlerContext) finish() {
	h.mu.Lock()
	h.finished = true
	if h.err == nil && h.materialized.Load() == nil {
		// Settle Err now, as the timer-backed context would have.
		switch {
		case h.parent.Err() != nil:
			h.err = h.parent.Err()
		case !time.Now().Before(h.deadline):
			h.err = context.DeadlineExceeded
		default:
			h.err = context.Canceled
		}
	}
	cancel := h.cancel
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
