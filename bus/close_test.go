package bus_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// A handler that is in flight when Close begins is drained: it is supposed
// to run to completion. A choreography handler almost always publishes its
// follow-up event; that publish must not fail with ErrClosed, or graceful
// shutdown turns every in-flight message into a failure and a retry (with
// its side effects repeated).
func TestHandlerInFlightCanPublishDuringClose(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("accounts"))
	require.NoError(t, err)
	started := make(chan struct{})
	publishErr := make(chan error, 1)
	_, err = bus.HandleCommand(ctx, b, signupCmd, func(ctx context.Context, m *bus.Message[signup]) error {
		if m.Attempt > 1 {
			return nil
		}
		close(started)
		time.Sleep(300 * time.Millisecond) // still working when Close begins
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{UserID: "u1"})
		publishErr <- err
		return err
	})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{Email: "a@example.com"})
	require.NoError(t, err)
	<-started
	require.NoError(t, b.Close(ctx))
	require.NoError(t, <-publishErr, "the drained handler's follow-up publish failed")
}

// A subscription whose creation is under way when Close begins must either
// fail with ErrClosed or be drained by Close. Here it is neither: Subscribe
// returns a live subscription after Close returned, and (on a caller-owned
// connection) it keeps handling messages.
func TestSubscribeRacingCloseIsNotLeftRunning(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	b, err := bus.New(nc, bus.WithSource("racer"))
	require.NoError(t, err)

	// The middleware factory runs inside Subscribe (after the bus let it in,
	// before the subscription is tracked); holding it there lets Close begin
	// deterministically while the subscription is being created.
	entered, release := make(chan struct{}), make(chan struct{})
	hold := func(next bus.HandlerFunc) bus.HandlerFunc {
		close(entered)
		<-release
		return next
	}
	var handled atomic.Int64
	type result struct {
		sub *bus.Subscription
		err error
	}
	subscribed := make(chan result, 1)
	go func() {
		sub, err := bus.Subscribe(ctx, b, signedUpEvt, "late", func(context.Context, *bus.Message[signedUp]) error {
			handled.Add(1)
			return nil
		}, bus.Use(hold))
		subscribed <- result{sub, err}
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	eventually(t, 5*time.Second, func() bool {
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{})
		return errors.Is(err, bus.ErrClosed)
	}, "Close did not begin")
	time.Sleep(50 * time.Millisecond) // Close has taken its snapshot of the subscriptions
	close(release)
	require.NoError(t, <-closed)
	r := <-subscribed
	if r.err != nil {
		require.ErrorIs(t, r.err, bus.ErrClosed)
		return
	}
	t.Cleanup(r.sub.Stop)

	// Close has returned; another service publishes an event.
	other := bustest.Connect(t, srv, bus.WithSource("web"))
	_, err = bus.Publish(ctx, other, signedUpEvt, signedUp{N: 1})
	require.NoError(t, err)
	time.Sleep(time.Second)
	require.Zero(t, handled.Load(), "a handler ran after Close returned: the subscription created during Close was never drained")
}
