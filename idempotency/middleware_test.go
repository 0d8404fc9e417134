package idempotency_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/idempotency"
)

// delivery builds what the bus hands to middleware for one message.
func delivery(consumer, id string, attempt int) *bus.Delivery {
	return &bus.Delivery{
		Envelope:    &envelope.Envelope{ID: id, Source: "test", Type: "v1.order.placed", Subject: "order-42"},
		WireSubject: "evt.v1.order.placed", Stream: "EVT_order", Consumer: consumer,
		StreamSequence: 7, Attempt: attempt,
	}
}

// counter is a handler that counts its runs and returns whatever fail says.
type counter struct {
	runs atomic.Int64
	fail func(run int64) error
}

func (c *counter) handle(context.Context, *bus.Delivery) error {
	n := c.runs.Add(1)
	if c.fail != nil {
		return c.fail(n)
	}
	return nil
}

func TestMiddlewareRunsEachMessageOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := &counter{}
	handle := idempotency.Middleware(idempotency.NewMemoryStore())(h.handle)

	id := envelope.NewID()
	for attempt := 1; attempt <= 3; attempt++ {
		require.NoError(t, handle(ctx, delivery("billing", id, attempt)))
	}
	require.EqualValues(t, 1, h.runs.Load(), "copies of one message are acked without running")

	require.NoError(t, handle(ctx, delivery("billing", envelope.NewID(), 1)))
	require.EqualValues(t, 2, h.runs.Load(), "another message runs")
	require.NoError(t, handle(ctx, delivery("mailer", id, 1)))
	require.EqualValues(t, 3, h.runs.Load(), "another consumer of the same message runs: keys are scoped by consumer")
}

func TestMiddlewareFailureIsNotMarkedDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	boom := errors.New("payment service down")
	tests := []struct {
		name string
		err  error
	}{
		{"plain error", boom},
		{"permanent", bus.Permanent(boom)},
		{"retry after", bus.RetryAfter(boom, time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &counter{fail: func(run int64) error {
				if run == 1 {
					return tc.err
				}
				return nil
			}}
			handle := idempotency.Middleware(idempotency.NewMemoryStore())(h.handle)
			id := envelope.NewID()
			err := handle(ctx, delivery("billing", id, 1))
			require.ErrorIs(t, err, boom)
			require.Equal(t, bus.IsPermanent(tc.err), bus.IsPermanent(err), "the handler's outcome passes through unchanged")
			require.NoError(t, handle(ctx, delivery("billing", id, 2)))
			require.NoError(t, handle(ctx, delivery("billing", id, 3)))
			require.EqualValues(t, 2, h.runs.Load(), "attempt 2 ran again, attempt 3 was a duplicate")
		})
	}
}

func TestMiddlewareReleasesOnPanic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runs := 0
	handle := idempotency.Middleware(idempotency.NewMemoryStore())(func(context.Context, *bus.Delivery) error {
		runs++
		if runs == 1 {
			panic("nil map")
		}
		return nil
	})
	id := envelope.NewID()
	require.PanicsWithValue(t, "nil map", func() { _ = handle(ctx, delivery("billing", id, 1)) })
	require.NoError(t, handle(ctx, delivery("billing", id, 2)))
	require.Equal(t, 2, runs, "the key was released by the panic")
}

func TestMiddlewareBusyKeyIsRedeliveredLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := idempotency.NewMemoryStore()
	id := envelope.NewID()
	// Another instance is processing the message right now.
	other, err := store.Claim(ctx, idempotency.Key{Scope: "billing", Source: "test", ID: id}, time.Minute)
	require.NoError(t, err)

	h := &counter{}
	handle := idempotency.Middleware(store)(h.handle)
	err = handle(ctx, delivery("billing", id, 1))
	require.ErrorIs(t, err, idempotency.ErrBusy)
	require.False(t, bus.IsPermanent(err))
	require.Zero(t, h.runs.Load())

	require.NoError(t, store.Complete(ctx, other, time.Hour))
	require.NoError(t, handle(ctx, delivery("billing", id, 2)))
	require.Zero(t, h.runs.Load(), "the other instance finished it")
}

func TestMiddlewareBusinessKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := &counter{}
	byOrder := idempotency.WithKey(func(d *bus.Delivery) string { return d.Envelope.Subject })
	handle := idempotency.Middleware(idempotency.NewMemoryStore(), byOrder)(h.handle)
	// Two distinct events about order-42: the handler charges it once.
	require.NoError(t, handle(ctx, delivery("billing", envelope.NewID(), 1)))
	require.NoError(t, handle(ctx, delivery("billing", envelope.NewID(), 1)))
	require.EqualValues(t, 1, h.runs.Load())
}

func TestMiddlewareScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := &counter{}
	shared := idempotency.WithScope(func(*bus.Delivery) string { return "orders" })
	handle := idempotency.Middleware(idempotency.NewMemoryStore(), shared)(h.handle)
	id := envelope.NewID()
	require.NoError(t, handle(ctx, delivery("billing", id, 1)))
	require.NoError(t, handle(ctx, delivery("mailer", id, 1)))
	require.EqualValues(t, 1, h.runs.Load(), "one scope across consumers")
}

func TestMiddlewareMissingKeyIsPermanent(t *testing.T) {
	t.Parallel()
	h := &counter{}
	tests := []struct {
		name string
		opts []idempotency.Option
		d    *bus.Delivery
	}{
		{"no ce-id", nil, delivery("billing", "", 1)},
		{"no envelope", nil, &bus.Delivery{Consumer: "billing", Attempt: 1}},
		{"empty business key", []idempotency.Option{idempotency.WithKey(func(*bus.Delivery) string { return "" })}, delivery("billing", "x", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := idempotency.Middleware(idempotency.NewMemoryStore(), tc.opts...)(h.handle)(context.Background(), tc.d)
			require.ErrorIs(t, err, idempotency.ErrNoKey)
			require.True(t, bus.IsPermanent(err), "dead-lettered at once: no retry can invent a key")
		})
	}
	require.Zero(t, h.runs.Load())
}

func TestMiddlewareStoreUnavailable(t *testing.T) {
	t.Parallel()
	js, srv := startJetStream(t)
	store, err := idempotency.NewKVStore(context.Background(), js, "down")
	require.NoError(t, err)
	srv.Shutdown()

	tests := []struct {
		name     string
		opts     []idempotency.Option
		wantRuns int64
	}{
		{"fails closed by default", nil, 0},
		{"fail open runs unguarded", []idempotency.Option{idempotency.WithFailOpen()}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			opts := append(tc.opts, idempotency.WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))))
			h := &counter{}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := idempotency.Middleware(store, opts...)(h.handle)(ctx, delivery("billing", envelope.NewID(), 1))
			require.Equal(t, tc.wantRuns, h.runs.Load())
			if tc.wantRuns == 0 {
				require.ErrorIs(t, err, idempotency.ErrStoreUnavailable)
				require.False(t, bus.IsPermanent(err), "retried later, not dead-lettered")
			} else {
				require.NoError(t, err)
				require.Contains(t, logs.String(), "unguarded")
			}
		})
	}
}

func TestMiddlewareRenewsLeaseWhileHandlerRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := idempotency.NewMemoryStore()
	// Renewals every 100ms keep a 300ms lease alive even on a loaded
	// machine; the test waits more than three leases.
	const lease = 300 * time.Millisecond
	release := make(chan struct{})
	started := make(chan struct{})
	h := idempotency.Middleware(store, idempotency.WithLease(lease))(func(context.Context, *bus.Delivery) error {
		close(started)
		<-release
		return nil
	})
	id := envelope.NewID()
	done := make(chan error)
	go func() { done <- h(ctx, delivery("billing", id, 1)) }()
	<-started
	time.Sleep(3*lease + lease/2) // the first lease is long gone; renewals keep the key
	c, err := store.Claim(ctx, idempotency.Key{Scope: "billing", Source: "test", ID: id}, lease)
	require.NoError(t, err)
	require.Equal(t, idempotency.Busy, c.Status)
	close(release)
	require.NoError(t, <-done)
	c, err = store.Claim(ctx, idempotency.Key{Scope: "billing", Source: "test", ID: id}, lease)
	require.NoError(t, err)
	require.Equal(t, idempotency.Done, c.Status)
}

// noExtend is a store whose renewals fail, as during a store outage.
type noExtend struct{ *idempotency.MemoryStore }

func (noExtend) Extend(context.Context, idempotency.Claim, time.Duration) (idempotency.Claim, error) {
	return idempotency.Claim{}, errors.New("store unreachable")
}

func TestMiddlewareLostLeaseIsLoggedNotFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := noExtend{idempotency.NewMemoryStore()}
	var logs bytes.Buffer
	const lease = 20 * time.Millisecond
	key := idempotency.Key{Scope: "billing", Source: "test", ID: envelope.NewID()}
	var stolen idempotency.Claim
	h := idempotency.Middleware(store, idempotency.WithLease(lease),
		idempotency.WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))),
	)(func(context.Context, *bus.Delivery) error {
		// The lease runs out and another instance takes the key.
		require.Eventually(t, func() bool {
			c, err := store.Claim(ctx, key, time.Minute)
			stolen = c
			return err == nil && c.Status == idempotency.Acquired
		}, 5*time.Second, lease)
		return nil
	})
	require.NoError(t, h(ctx, delivery("billing", key.ID, 1)), "the handler's effects happened: ack")
	out := logs.String()
	require.Contains(t, out, "could not renew")
	require.Contains(t, out, "lease was lost")
	c, err := store.Claim(ctx, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Busy, c.Status, "the new holder's claim was not overwritten")
	require.NoError(t, store.Complete(ctx, stolen, time.Hour))
}

func TestMiddlewareLogsDuplicatesAtDebug(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	handle := idempotency.Middleware(idempotency.NewMemoryStore())((&counter{}).handle)
	d := delivery("billing", envelope.NewID(), 1)
	d.Logger = logger // the bus logger of the delivery is the default
	require.NoError(t, handle(context.Background(), d))
	require.NotContains(t, logs.String(), "duplicate")
	require.NoError(t, handle(context.Background(), d))
	require.Contains(t, logs.String(), "level=DEBUG msg=\"idempotency: duplicate acknowledged")
	require.Contains(t, logs.String(), "dedupe_key="+d.Envelope.ID)
}

func TestMiddlewareDuplicatePathDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	handle := idempotency.Middleware(idempotency.NewMemoryStore())((&counter{}).handle)
	d := delivery("billing", envelope.NewID(), 1)
	d.Logger = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) // Info: debug lines are off
	require.NoError(t, handle(ctx, d))
	require.Zero(t, testing.AllocsPerRun(1000, func() { _ = handle(ctx, d) }))
}

func TestMiddlewareNilStorePanics(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "idempotency: Middleware needs a Store: NewMemoryStore() or NewKVStore(ctx, js, bucket)",
		func() { idempotency.Middleware(nil) })
}

// syncWriter makes a buffer safe for loggers used from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// flakyComplete is a store whose first Complete calls fail, as while the
// store fails over to a new leader.
type flakyComplete struct {
	*idempotency.MemoryStore
	failures atomic.Int64 // how many more Complete calls fail
}

func (s *flakyComplete) Complete(ctx context.Context, c idempotency.Claim, retention time.Duration) error {
	if s.failures.Add(-1) >= 0 {
		return errors.New("no leader")
	}
	return s.MemoryStore.Complete(ctx, c, retention)
}

func TestMiddlewareRetriesCompleteWithinTheLease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failures int64
		want     idempotency.Status
		log      string
	}{
		{"store back within the lease", 3, idempotency.Done, "retrying until the lease ends"},
		{"store down for the whole lease", 1 << 20, idempotency.Acquired, "before its lease ended"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := &flakyComplete{MemoryStore: idempotency.NewMemoryStore()}
			store.failures.Store(tc.failures)
			var logs bytes.Buffer
			h := &counter{}
			handle := idempotency.Middleware(store, idempotency.WithLease(time.Second),
				idempotency.WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))))(h.handle)
			id := envelope.NewID()
			require.NoError(t, handle(ctx, delivery("billing", id, 1)), "the handler succeeded: ack")
			require.Contains(t, logs.String(), tc.log)
			// What a copy finds afterwards (after the lease, if it ended).
			c, err := store.Claim(ctx, idempotency.Key{Scope: "billing", Source: "test", ID: id}, time.Minute)
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Status)
			require.EqualValues(t, 1, h.runs.Load())
		})
	}
}

// CloudEvents identifies an event by source and id together: two producers
// that both use id "1" are two events, and both run; the same producer's
// copy is a duplicate.
func TestMiddlewareKeysOnSourceAndID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runs := 0
	h := idempotency.Middleware(idempotency.NewMemoryStore())(func(context.Context, *bus.Delivery) error {
		runs++
		return nil
	})
	from := func(source string) *bus.Delivery {
		d := delivery("billing", "1", 1)
		d.Envelope.Source = source
		return d
	}
	for _, source := range []string{"shop-eu", "shop-us", "shop-eu"} {
		require.NoError(t, h(ctx, from(source)))
	}
	require.Equal(t, 2, runs, "one run per producer: the second shop-eu copy is a duplicate")
}
