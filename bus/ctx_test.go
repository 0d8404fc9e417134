package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
)

// Close's doc: in-flight handlers run until ctx is done, then their contexts
// are cancelled. During a broker outage Close ignores its ctx: each
// subscription's nats.go drain waits for a flush (10s) and the subscription
// waits for that drain unconditionally, one subscription after another, and
// then the advisory converter does the same. A process with a shutdown
// grace period is killed before Close returns.
func TestCloseDuringOutageHonoursCtx(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv, err := embedded.Start(ctx)
	require.NoError(t, err)
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("outage"))
	require.NoError(t, err)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error { return nil })
	require.NoError(t, err)
	srv.Shutdown()
	time.Sleep(200 * time.Millisecond)

	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err = b.Close(cctx)
	took := time.Since(start)
	require.Error(t, err, "nothing could be drained or flushed")
	require.Less(t, took, 5*time.Second, "Close with a 1s context took %s", took)
}

// Future.Wait returns "when ctx is done"; a second, concurrent Wait with a
// short ctx instead blocks on the first waiter's lock until that one's ctx
// ends (or the acknowledgement arrives).
func TestConcurrentFutureWaitHonoursItsOwnCtx(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv, err := embedded.Start(ctx)
	require.NoError(t, err)
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("waiter"))
	require.NoError(t, err)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = b.Close(cctx)
	})
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{}) // provision the stream
	require.NoError(t, err)
	srv.Shutdown() // the acknowledgement will not come (until the 15s async timeout)
	time.Sleep(200 * time.Millisecond)
	f, err := bus.PublishAsync(ctx, b, signedUpEvt, signedUp{N: 1})
	require.NoError(t, err)

	long, cancelLong := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancelLong()
	go func() { _, _ = f.Wait(long) }()
	time.Sleep(100 * time.Millisecond) // the first waiter is waiting

	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	_, err = f.Wait(short)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, 2*time.Second, "Wait with a 100ms context returned after %s", took)
}
