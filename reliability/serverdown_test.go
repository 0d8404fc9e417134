package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
)

// asyncAckTimeout is the bus's bound on waiting for the acknowledgement of
// an asynchronous publish (bus.asyncAckTimeout, not configurable).
const asyncAckTimeout = 15 * time.Second

// Server down during publish: the only server goes away twice while a
// service publishes.
//
//   - A synchronous Publish with a deadline gives up when its deadline
//     passes, with the deadline's error (the lost connection is not its
//     error); it does not hang. How late it returns is reported, not
//     checked: on a busy machine that is the scheduler's figure. Its
//     message may still be stored (it waited in the client's reconnect
//     buffer), so the publisher retries with the same id and the stream
//     keeps one copy.
//   - PublishAsync itself never fails for the lost connection: not while
//     the client reconnects and buffers, and not when a write hits the
//     socket before the client noticed that the server went away (on a
//     busy machine it notices late; the bus then publishes the message
//     again, with its id, and leaves the outcome to the future).
//   - Asynchronous publishes made during a short outage wait in the
//     client's buffer and are stored when the server is back: every future
//     reports success.
//   - During an outage longer than the bus's acknowledgement timeout, every
//     future reports its own failure and Flush reports that some failed;
//     republished with the same ids after the outage, none is stored twice.
//   - Publishing resumes when the server is back, every acknowledged
//     message is handled, and the stream holds each exactly once.
func TestChaosServerDownDuringPublish(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Minute)
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	port := srv.Port()
	restart := func() {
		srv, err = embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
		require.NoError(t, err)
	}
	t.Cleanup(func() { srv.Shutdown() })
	const ns = "serverdown"
	const deadline = time.Second
	syncTries, asyncShort, asyncLong := 5, sized(200, 2000), sized(200, 2000)

	l := newLedger(20 + syncTries + asyncShort + asyncLong)
	worker := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("worker"))
	sub, err := bus.Subscribe(ctx, worker, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		l.effect(m.Envelope.ID, "worker", m.Data.SentAt)
		return nil
	}, bus.WithConcurrency(4), bus.WithAckWait(5*time.Second))
	require.NoError(t, err)
	pub := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("publisher"))
	seq := 0
	publishSync := func(pctx context.Context, id string) (bus.Receipt, error) {
		seq++
		return bus.Publish(pctx, pub, orderPlaced, order{Seq: seq, SentAt: time.Now().UnixNano()}, bus.WithID(id))
	}
	publishAsync := func(id string) *bus.Future {
		seq++
		f, err := bus.PublishAsync(ctx, pub, orderPlaced, order{Seq: seq, SentAt: time.Now().UnixNano()}, bus.WithID(id))
		require.NoError(t, err, "PublishAsync itself must not fail because the connection is lost")
		return f
	}
	for range 20 { // the stream exists and works before the faults
		id := envelope.NewID()
		_, err := publishSync(ctx, id)
		require.NoError(t, err)
		l.ack(id, seq)
	}

	// Outage 1, short.
	srv.Shutdown()
	down1 := time.Now()
	var slowestSyncError time.Duration
	var syncFailed []string
	for range syncTries {
		id := envelope.NewID()
		pctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		returned := make(chan error, 1)
		go func() {
			_, err := publishSync(pctx, id)
			returned <- err
		}()
		select {
		case err = <-returned:
		case <-time.After(time.Minute):
			t.Fatalf("Publish with a %s deadline hangs: no return a minute later", deadline)
		}
		took := time.Since(start)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "a publish to a stopped server ends when its deadline passes")
		slowestSyncError = max(slowestSyncError, took)
		syncFailed = append(syncFailed, id)
	}
	short := make([]*bus.Future, asyncShort)
	for i := range short {
		short[i] = publishAsync(envelope.NewID())
	}
	restart()
	outage1 := time.Since(down1)
	shortOK := 0
	for _, f := range short {
		wctx, cancel := context.WithTimeout(ctx, 2*asyncAckTimeout)
		r, err := f.Wait(wctx)
		cancel()
		require.NoError(t, err, "a message buffered during a short outage is stored when the server is back")
		l.ack(r.ID, 0)
		shortOK++
	}
	// The publisher retries its failed synchronous publishes with the same
	// ids; those the buffer had delivered anyway come back as duplicates.
	inDoubtStored := 0
	for _, id := range syncFailed {
		r := retryPublish(t, ctx, func(pctx context.Context) (bus.Receipt, error) { return publishSync(pctx, id) })
		if r.Duplicate {
			inDoubtStored++
		}
		l.ack(id, 0)
	}

	// Outage 2, longer than the acknowledgement timeout.
	srv.Shutdown()
	down2 := time.Now()
	long := make([]*bus.Future, asyncLong)
	for i := range long {
		long[i] = publishAsync(envelope.NewID())
	}
	asyncFailed := 0
	var failedIDs []string
	for _, f := range long {
		wctx, cancel := context.WithTimeout(ctx, 2*asyncAckTimeout)
		_, err := f.Wait(wctx)
		hung := wctx.Err()
		cancel()
		require.Error(t, err, "no acknowledgement can come from a stopped server")
		require.NoError(t, hung, "the future must resolve on its own, not hang until the caller gives up")
		asyncFailed++
		failedIDs = append(failedIDs, f.ID())
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = pub.Flush(fctx)
	cancel()
	require.ErrorIs(t, err, bus.ErrAsyncPublish)
	restart()
	outage2 := time.Since(down2)
	resumeStart := time.Now()
	republishedDuplicate := 0
	for _, id := range failedIDs {
		r := retryPublish(t, ctx, func(pctx context.Context) (bus.Receipt, error) { return publishSync(pctx, id) })
		if r.Duplicate {
			republishedDuplicate++
		}
		l.ack(id, 0)
	}
	resumedIn := time.Since(resumeStart)

	waitUntil(t, time.Minute, l.allHandled, func() string {
		return fmt.Sprintf("%d acknowledged messages never handled", l.counts().lost)
	})
	settled(t, worker, eventStream(ns), sub.Consumer(), time.Minute)
	stream, err := pub.JetStream().Stream(ctx, eventStream(ns))
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	cnt := l.counts()
	report(t, "server-down",
		"messages", 20+syncTries+asyncShort+asyncLong,
		"fault", fmt.Sprintf("the only server stopped for %s, then for %s (past the %s async ack timeout)",
			outage1.Round(100*time.Millisecond), outage2.Round(100*time.Millisecond), asyncAckTimeout),
		"sync_errors", len(syncFailed),
		"slowest_sync_error", slowestSyncError,
		"sync_deadline", deadline,
		"sync_in_doubt_stored", inDoubtStored,
		"async_short_ok", shortOK,
		"async_long_failed", asyncFailed,
		"async_long_stored_anyway", republishedDuplicate,
		"acked", cnt.acked,
		"handled", cnt.handled,
		"lost", cnt.lost,
		"stored", info.State.Msgs,
		"dup_effects", cnt.dupEffects,
		"republish_after_restart", resumedIn,
	)
	require.Zero(t, cnt.lost)
	// Retries with the same id never store a message twice. (Effects may
	// repeat: acknowledgements of messages handled just before the server
	// stopped were lost, so those are delivered again; the idempotency
	// middleware is what makes such repeats harmless.)
	require.EqualValues(t, cnt.acked, info.State.Msgs, "the stream holds a message twice")
}

// retryPublish calls publish with a 2s deadline until it succeeds (within
// a minute) and returns its receipt.
func retryPublish(t *testing.T, ctx context.Context, publish func(context.Context) (bus.Receipt, error)) bus.Receipt {
	t.Helper()
	giveUp := time.Now().Add(time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := publish(pctx)
		cancel()
		if err == nil {
			return r
		}
		if time.Now().After(giveUp) || errors.Is(err, bus.ErrClosed) {
			t.Fatalf("publishing did not resume: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
