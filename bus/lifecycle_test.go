package bus_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
)

func TestServerRestartMidConsumptionLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	port := srv.Port()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			srv.Shutdown()
		}
	})

	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("restart"), bus.WithLogger(bustest.Logger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })

	const n = 1000
	seen := newCounter()
	var slow atomic.Bool
	slow.Store(true)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "sink", func(_ context.Context, m *bus.Message[signedUp]) error {
		if slow.Load() {
			time.Sleep(2 * time.Millisecond) // keep consumption going while the server dies
		}
		seen.add(m.Data.N, "x")
		return nil
	}, bus.WithConcurrency(4), bus.WithAckWait(2*time.Second))
	require.NoError(t, err)
	for i := range n {
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	eventually(t, 20*time.Second, func() bool { return seen.distinct() >= 100 }, "consumption did not start")
	require.Less(t, seen.distinct(), n, "consumption finished before the restart; the test proves nothing")

	srv.Shutdown()
	time.Sleep(500 * time.Millisecond)
	srv2, err := embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
	require.NoError(t, err)
	restarted = true
	t.Cleanup(srv2.Shutdown)
	slow.Store(false)

	seen.waitDistinct(t, n, 45*time.Second)
}

func TestCorrelationChainAcrossCommandAndEvent(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	accounts := bustest.Connect(t, srv, bus.WithSource("accounts"))
	email := bustest.Connect(t, srv, bus.WithSource("email"))
	web := bustest.Connect(t, srv, bus.WithSource("web"))
	ctx := ctxT(t)

	var cmdEnv *envelope.Envelope
	_, err := bus.HandleCommand(ctx, accounts, signupCmd, func(ctx context.Context, m *bus.Message[signup]) error {
		cmdEnv = m.Envelope
		_, err := bus.Publish(ctx, accounts, signedUpEvt, signedUp{UserID: "u1"})
		return err
	})
	require.NoError(t, err)
	got := make(chan *envelope.Envelope, 1)
	_, err = bus.Subscribe(ctx, email, signedUpEvt, "email", func(_ context.Context, m *bus.Message[signedUp]) error {
		got <- m.Envelope
		return nil
	})
	require.NoError(t, err)

	r, err := bus.Send(ctx, web, signupCmd, signup{Email: "a@example.com"})
	require.NoError(t, err)
	var evt *envelope.Envelope
	select {
	case evt = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("event not received")
	}
	require.Equal(t, r.ID, cmdEnv.ID)
	require.Equal(t, r.ID, cmdEnv.CorrelationID, "the first message of a chain is its own correlation")
	require.Empty(t, cmdEnv.CausationID)
	require.Equal(t, "web", cmdEnv.Source)
	require.Equal(t, r.ID, evt.CorrelationID, "the event continues the command's chain")
	require.Equal(t, r.ID, evt.CausationID, "the event was caused by the command")
	require.Equal(t, "accounts", evt.Source)
	require.Equal(t, "v1.user.signedup", evt.Type)
	require.NotEqual(t, r.ID, evt.ID)
}

func TestCloseWaitsForHandlersAndThenRefusesWork(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	b, err := bus.Connect(ctxT(t), srv.ClientURL(), bus.WithSource("closer"))
	require.NoError(t, err)
	ctx := ctxT(t)
	started := make(chan struct{})
	var finished atomic.Bool
	var once sync.Once
	_, err = bus.HandleCommand(ctx, b, signupCmd, func(context.Context, *bus.Message[signup]) error {
		once.Do(func() { close(started) })
		time.Sleep(500 * time.Millisecond)
		finished.Store(true)
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.NoError(t, err)
	<-started
	require.NoError(t, b.Close(ctx))
	require.True(t, finished.Load(), "Close returned before the in-flight handler finished")

	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{})
	require.ErrorIs(t, err, bus.ErrClosed)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.ErrorIs(t, err, bus.ErrClosed)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "late", func(context.Context, *bus.Message[signedUp]) error { return nil })
	require.ErrorIs(t, err, bus.ErrClosed)
	_, err = allDeadLetters(ctx, b)
	require.ErrorIs(t, err, bus.ErrClosed)
	require.ErrorIs(t, b.Flush(ctx), bus.ErrClosed)
	require.NoError(t, b.Close(ctx), "a second Close returns the first result")

	// The handled command was acked before Close returned: a new instance
	// does not see it again.
	again := bustest.Connect(t, srv, bus.WithSource("closer"))
	var redelivered atomic.Int64
	_, err = bus.HandleCommand(ctx, again, signupCmd, func(context.Context, *bus.Message[signup]) error {
		redelivered.Add(1)
		return nil
	})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	require.Zero(t, redelivered.Load())
}

func TestPanickingHandlerIsRetriedNotFatal(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var rec attempts
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		rec.add(m.Attempt)
		if m.Attempt == 1 {
			panic("nil map somewhere")
		}
		return nil
	}, bus.WithBackoff(50*time.Millisecond))
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.NoError(t, err)
	eventually(t, 5*time.Second, func() bool { return rec.len() == 2 }, "panicked message was not retried")
}
