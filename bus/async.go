package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// ErrAsyncPublish is returned by Flush when asynchronous publishes failed
// since the previous Flush; each failed Future says which and why.
var ErrAsyncPublish = errors.New("choreo/bus: asynchronous publishes failed")

// Future is the pending result of SendAsync or PublishAsync. Its methods
// are safe for concurrent use and Wait may be called more than once.
type Future struct {
	id string
	f  jetstream.PubAckFuture

	once    sync.Once
	done    chan struct{}
	receipt Receipt
	err     error
}

// ID is the message's CloudEvents id.
func (f *Future) ID() string { return f.id }

// Wait blocks until the broker acknowledged the message (or refused it, or
// the acknowledgement timed out) and returns the receipt, or until ctx is
// done; each caller's ctx is its own, and a later Wait still gets the
// result.
func (f *Future) Wait(ctx context.Context) (Receipt, error) {
	// The nats.go future delivers its outcome once; one goroutine reads it
	// and publishes it to every waiter. It ends when the outcome arrives,
	// which the bus's async acknowledgement timeout guarantees.
	// done is made here rather than with the Future: most futures are
	// settled by Flush and never waited on, so they never need it.
	f.once.Do(func() {
		f.done = make(chan struct{})
		go f.resolve()
	})
	select {
	case <-f.done:
		return f.receipt, f.err
	case <-ctx.Done():
		return Receipt{ID: f.id}, ctx.Err()
	}
}

func (f *Future) resolve() {
	defer close(f.done)
	select {
	case ack := <-f.f.Ok():
		f.receipt = Receipt{ID: f.id, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}
	case err := <-f.f.Err():
		f.receipt, f.err = Receipt{ID: f.id}, fmt.Errorf("choreo/bus: asynchronous publish of %s: %w", f.id, err)
	}
}

// SendAsync sends a command without waiting for the broker's
// acknowledgement; the Future reports it. Use it (or PublishAsync) for
// throughput, then Flush or Wait on the futures before treating the
// messages as stored. It blocks only while WithAsyncMaxPending messages await
// acknowledgement, until ctx is done.
//
// A lost connection is not an error of SendAsync: while the client
// reconnects, the message waits in its reconnect buffer, and a write that
// hit the broken connection before the client noticed is made again. The
// Future reports the outcome; when it fails (no acknowledgement, e.g.
// "nats: disconnected" or a timeout) the message may still have been stored,
// so retry it with its id (WithID). SendAsync itself fails on an invalid
// message, a closed bus (ErrClosed), a full reconnect buffer
// (nats.ErrReconnectBufExceeded), or ctx ending while it waits.
func SendAsync[T any](ctx context.Context, b *Bus, c topic.Command[T], data T, opts ...PublishOption) (*Future, error) {
	return b.publishAsync(ctx, topic.KindCommand, c.Name(), data, opts)
}

// PublishAsync publishes an event without waiting for the broker's
// acknowledgement; see SendAsync.
func PublishAsync[T any](ctx context.Context, b *Bus, e topic.Event[T], data T, opts ...PublishOption) (*Future, error) {
	return b.publishAsync(ctx, topic.KindEvent, e.Name(), data, opts)
}

func (b *Bus) publishAsync(ctx context.Context, k topic.Kind, n topic.Name, data any, opts []PublishOption) (*Future, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.leave()
	p, err := b.prepare(ctx, k, n, data, opts, true)
	if err != nil {
		return nil, err
	}
	return b.publishAsyncPrepared(ctx, n, p)
}

// publishAsyncPrepared writes p without waiting for its acknowledgement.
func (b *Bus) publishAsyncPrepared(ctx context.Context, n topic.Name, p prepared) (*Future, error) {
	if p.hooks != nil && b.hooks.wantsAsyncOutcome {
		b.hooks.pending.Store(p.msg, p.hooks)
	}
	var lost connRetry
	for {
		f, err := b.js.PublishMsgAsync(p.msg)
		if err == nil {
			return &Future{id: p.id, f: f}, nil
		}
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			// The window is full: wait for acknowledgements, within ctx.
			select {
			case <-ctx.Done():
				err = fmt.Errorf("choreo/bus: publishing %s: %w while %d publishes await acknowledgement", n, ctx.Err(), b.js.PublishAsyncPending())
			case <-time.After(time.Millisecond):
				continue
			}
		} else {
			// A connection that broke under the write is no failure of
			// the message: publish it again (see connloss.go).
			again, werr := lost.again(ctx, b.nc, err)
			if again {
				continue
			}
			if werr != nil {
				err = werr
			}
			err = publishError(n, err)
		}
		if p.hooks != nil {
			b.hooks.pending.Delete(p.msg)
			b.hooks.afterPublish(p.hooks, Receipt{ID: p.id}, err)
		}
		return nil, err
	}
}

// Flush waits until every asynchronous publish made so far is acknowledged
// or failed, at most until ctx is done. It returns an error wrapping
// ErrAsyncPublish when any of them failed since the previous Flush.
func (b *Bus) Flush(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return b.flush(ctx)
}

func (b *Bus) flush(ctx context.Context) error {
	select {
	case <-b.js.PublishAsyncComplete():
	case <-ctx.Done():
		return fmt.Errorf("choreo/bus: flush: %w with %d publishes unacknowledged", ctx.Err(), b.js.PublishAsyncPending())
	}
	if n := b.asyncFailed.Swap(0); n > 0 {
		return fmt.Errorf("%w: %d since the last Flush; their futures (or the log) say why", ErrAsyncPublish, n)
	}
	return nil
}
