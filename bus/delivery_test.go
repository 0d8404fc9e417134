package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

func TestCommandsAreSharedAndHandledOnce(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := bustest.NewServer(t)
	a := bustest.Connect(t, srv, bus.WithSource("accounts"))
	b := bustest.Connect(t, srv, bus.WithSource("accounts"))
	c := newCounter()
	for name, inst := range map[string]*bus.Bus{"a": a, "b": b} {
		_, err := bus.HandleCommand(ctx, inst, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
			c.add(m.Data.N, name)
			return nil
		}, bus.WithConcurrency(4))
		require.NoError(t, err)
	}
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	const n = 200
	for i := range n {
		r, err := bus.Send(ctx, sender, signupCmd, signup{Email: "u@example.com", N: i})
		require.NoError(t, err)
		require.False(t, r.Duplicate)
		require.Equal(t, "CMD_user", r.Stream)
	}
	c.waitDistinct(t, n, 30*time.Second)
	time.Sleep(200 * time.Millisecond) // a duplicate would show up now
	c.requireExactlyOnce(t, n)
	require.Positive(t, c.by["a"], "instance a handled none: the consumer is not shared")
	require.Positive(t, c.by["b"], "instance b handled none: the consumer is not shared")
}

func TestSecondServiceCannotHandleSameCommand(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := bustest.NewServer(t)
	a := bustest.Connect(t, srv, bus.WithSource("accounts"))
	other := bustest.Connect(t, srv, bus.WithSource("billing"))
	noop := func(context.Context, *bus.Message[signup]) error { return nil }
	_, err := bus.HandleCommand(ctx, a, signupCmd, noop)
	require.NoError(t, err)
	_, err = bus.HandleCommand(ctx, other, signupCmd, noop)
	require.ErrorIs(t, err, bus.ErrIncompatible)
	require.Contains(t, err.Error(), "exactly one handler group")
}

func TestEventsFanOutToGroupsAndShareWithinGroup(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := bustest.NewServer(t)
	email, metrics := newCounter(), newCounter()
	for i := range 2 {
		inst := bustest.Connect(t, srv, bus.WithSource(fmt.Sprintf("email-%d", i)))
		who := fmt.Sprint(i)
		_, err := bus.Subscribe(ctx, inst, signedUpEvt, "email", func(_ context.Context, m *bus.Message[signedUp]) error {
			email.add(m.Data.N, who)
			return nil
		}, bus.WithConcurrency(2))
		require.NoError(t, err)
	}
	mb := bustest.Connect(t, srv, bus.WithSource("metrics"))
	_, err := bus.Subscribe(ctx, mb, signedUpEvt, "metrics", func(_ context.Context, m *bus.Message[signedUp]) error {
		metrics.add(m.Data.N, "m")
		return nil
	})
	require.NoError(t, err)

	pub := bustest.Connect(t, srv, bus.WithSource("accounts"))
	const n = 100
	for i := range n {
		_, err := bus.Publish(ctx, pub, signedUpEvt, signedUp{UserID: fmt.Sprint(i), N: i})
		require.NoError(t, err)
	}
	email.waitDistinct(t, n, 30*time.Second)
	metrics.waitDistinct(t, n, 30*time.Second)
	time.Sleep(200 * time.Millisecond)
	email.requireExactlyOnce(t, n)
	metrics.requireExactlyOnce(t, n)
	require.Positive(t, email.by["0"])
	require.Positive(t, email.by["1"])
}

func TestPublishWithSameIDIsDuplicate(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	first, err := bus.Publish(ctx, b, signedUpEvt, signedUp{UserID: "1"}, bus.WithID("fixed-id"))
	require.NoError(t, err)
	require.False(t, first.Duplicate)
	again, err := bus.Publish(ctx, b, signedUpEvt, signedUp{UserID: "1"}, bus.WithID("fixed-id"))
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, first.Sequence, again.Sequence)
	require.Equal(t, "fixed-id", again.ID)
}

func TestAsyncPublishAndFlush(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var handled atomic.Int64
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "count", func(context.Context, *bus.Message[signedUp]) error {
		handled.Add(1)
		return nil
	}, bus.WithConcurrency(8))
	require.NoError(t, err)
	futures := make([]*bus.Future, 0, 500)
	for i := range 500 {
		f, err := bus.PublishAsync(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
		futures = append(futures, f)
	}
	require.NoError(t, b.Flush(ctx))
	seqs := map[uint64]bool{}
	for _, f := range futures {
		r, err := f.Wait(ctx)
		require.NoError(t, err)
		require.Equal(t, f.ID(), r.ID)
		seqs[r.Sequence] = true
		r2, err := f.Wait(ctx) // a second Wait returns the same result
		require.NoError(t, err)
		require.Equal(t, r, r2)
	}
	require.Len(t, seqs, 500)
	eventually(t, 20*time.Second, func() bool { return handled.Load() == 500 }, "handled %d of 500", handled.Load())
}

func TestPrefetchDeliversEverythingOnce(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	c := newCounter()
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "fast", func(_ context.Context, m *bus.Message[signedUp]) error {
		c.add(m.Data.N, "x")
		return nil
	}, bus.WithConcurrency(4), bus.WithPrefetch(256))
	require.NoError(t, err)
	const n = 2000
	for i := range n {
		_, err := bus.PublishAsync(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	require.NoError(t, b.Flush(ctx))
	c.waitDistinct(t, n, 30*time.Second)
	time.Sleep(200 * time.Millisecond)
	c.requireExactlyOnce(t, n)
}
