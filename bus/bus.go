package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// asyncAckTimeout bounds the wait for the acknowledgement of an
// asynchronous publish; the future then fails and the message can be retried.
const asyncAckTimeout = 15 * time.Second

// Bus sends commands and publishes events, and runs the handlers of one
// service. Create one per service process with Connect (or New on an existing
// connection) and Close it on shutdown. All methods are safe for concurrent
// use.
type Bus struct {
	cfg     config
	nc      *nats.Conn
	ownConn bool
	js      jetstream.JetStream

	streams streamCache
	// Close runs in two phases: while closing, handlers being drained may
	// still publish, but nothing else starts; once closed, every call fails.
	closing   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	mu   sync.Mutex
	subs map[*Subscription]struct{}
	// inflight counts calls under way, so Close waits for them before it
	// closes the connection.
	inflight atomic.Int64

	asyncFailed atomic.Int64
	deadLetters deadLetterState
	hooks       hookSet
	awaits      awaitHub // SendAndAwait's shared consumers (await.go)
}

// New returns a Bus on an existing connection. The caller keeps ownership of
// nc: Close drains the bus but leaves nc open.
func New(nc *nats.Conn, opts ...Option) (*Bus, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil *nats.Conn", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b, err := newBus(nc, cfg)
	if err != nil {
		return nil, err
	}
	b.hooks.open(b)
	return b, nil
}

func newBus(nc *nats.Conn, cfg config) (*Bus, error) {
	b := &Bus{cfg: cfg, nc: nc, subs: make(map[*Subscription]struct{})}
	b.hooks.init(cfg.hooks)
	jsOpts := []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncMaxPending(cfg.asyncMaxPending),
		// Without a timeout a future whose acknowledgement was lost (server
		// gone mid-publish) would never resolve.
		jetstream.WithPublishAsyncTimeout(asyncAckTimeout),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			b.asyncFailed.Add(1)
			if errors.Is(err, jetstream.ErrNoStreamResponse) {
				b.streams.forgetSubject(m.Subject) // the next publish provisions it again
			}
			cfg.logger.Warn("choreo: async publish failed", "subject", m.Subject, "id", m.Header.Get(jetstream.MsgIDHeader), "error", err)
			if b.hooks.wantsAsyncOutcome {
				b.hooks.asyncDone(m, Receipt{}, fmt.Errorf("choreo/bus: asynchronous publish: %w", err))
			}
		}),
	}
	if b.hooks.wantsAsyncOutcome {
		jsOpts = append(jsOpts, jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
			b.hooks.asyncDone(m, Receipt{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil)
		}))
	}
	js, err := jetstream.New(nc, jsOpts...)
	if err != nil {
		return nil, fmt.Errorf("choreo/bus: JetStream context: %w", err)
	}
	b.js = js
	b.streams.init(b)
	return b, nil
}

// Source is the service name set with WithSource.
func (b *Bus) Source() string { return b.cfg.source }

// Namespace is the prefix set with WithNamespace ("" when none).
func (b *Bus) Namespace() string { return b.cfg.namespace }

// Conn is the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream is the JetStream API on the bus connection, for what choreo does
// not wrap (key-value buckets, stream administration).
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Logger is the logger set with WithLogger.
func (b *Bus) Logger() *slog.Logger { return b.cfg.logger }

// enter registers a call so that Close waits for it. Publishes from a
// handler being drained (ctx carries its delivery) are let in while Close
// drains; everything else fails with ErrClosed once Close has begun.
func (b *Bus) enter(ctx context.Context) error {
	b.inflight.Add(1)
	if b.closed.Load() || (b.closing.Load() && DeliveryFrom(ctx) == nil) {
		b.inflight.Add(-1)
		return ErrClosed
	}
	return nil
}

// enterBeforeClose registers a call that starts new work (a subscription,
// dead-letter administration); it fails as soon as Close has begun.
func (b *Bus) enterBeforeClose() error {
	b.inflight.Add(1)
	if b.closing.Load() {
		b.inflight.Add(-1)
		return ErrClosed
	}
	return nil
}

func (b *Bus) leave() { b.inflight.Add(-1) }

// waitIdle waits until no call is under way, or ctx is done.
func (b *Bus) waitIdle(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for b.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("choreo/bus: close: %w with %d calls still under way", ctx.Err(), b.inflight.Load())
		case <-t.C:
		}
	}
	return nil
}

// Close shuts the bus down gracefully, within ctx: new subscriptions, and
// publishes from outside a handler, fail with ErrClosed at once; every
// subscription stops fetching and its in-flight handlers run to completion
// (and may still publish their follow-up messages) until ctx is done, when
// their contexts are cancelled; then every call fails with ErrClosed,
// pending asynchronous publishes are flushed, and a connection made by
// Connect is drained and closed (one given to New is flushed and left
// open). Close must not be called from a handler of the bus. It is safe to
// call more than once; later calls return the first result.
func (b *Bus) Close(ctx context.Context) error {
	b.closeOnce.Do(func() { b.closeErr = b.close(ctx) })
	return b.closeErr
}

func (b *Bus) close(ctx context.Context) error {
	b.awaits.close()
	b.mu.Lock()
	b.closing.Store(true) // under mu: track sees it, so no subscription escapes the snapshot
	subs := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()

	// Drain every subscription at once: their handlers finish in parallel
	// and one slow drain does not eat the others' time.
	errs := make([]error, len(subs)+4)
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Drain(ctx)
		}()
	}
	wg.Wait()
	b.deadLetters.stop(ctx)
	b.closed.Store(true)
	n := len(subs)
	errs[n] = b.waitIdle(ctx)
	errs[n+1] = b.flush(ctx)
	if b.ownConn {
		if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs[n+2] = err
		}
		errs[n+3] = waitClosed(ctx, b.nc)
	} else if err := b.nc.FlushWithContext(ctx); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		// The caller keeps the connection, but the last acks must leave.
		errs[n+2] = fmt.Errorf("choreo/bus: flushing the connection: %w", err)
	}
	return errors.Join(errs...)
}

// waitClosed waits for a draining connection to close, at most until ctx is
// done, and then closes it for good.
func waitClosed(ctx context.Context, nc *nats.Conn) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !nc.IsClosed() {
		select {
		case <-ctx.Done():
			nc.Close()
			return fmt.Errorf("choreo/bus: close: connection drain: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// track registers a running subscription for Close; it fails once Close
// has taken its snapshot.
func (b *Bus) track(s *Subscription) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing.Load() {
		return ErrClosed
	}
	b.subs[s] = struct{}{}
	return nil
}

func (b *Bus) untrack(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// validateNamespace wraps topic's namespace check in the bus's option error.
func validateNamespace(ns string) error {
	if err := topic.ValidateNamespace(ns); err != nil {
		return optionError("namespace", err)
	}
	return nil
}
