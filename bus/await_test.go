package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

type payment struct {
	N int `json:"n"`
}

var (
	paymentCapture  = topic.MustCommand[payment]("v1.payment.capture")
	paymentCaptured = topic.MustEvent[payment]("v1.payment.captured")
	paymentFailed   = topic.MustEvent[payment]("v1.payment.failed")
)

// consumersOn counts the consumers of a stream.
func consumersOn(t *testing.T, b *bus.Bus, stream string) int {
	t.Helper()
	s, err := b.JetStream().Stream(ctxT(t), stream)
	require.NoError(t, err)
	info, err := s.Info(ctxT(t))
	require.NoError(t, err)
	return info.State.Consumers
}

func TestSendAndAwaitGivesEachOfManyCallersItsOwnOutcome(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	web := bustest.Connect(t, srv, bus.WithSource("web"))
	payments := bustest.Connect(t, srv, bus.WithSource("payments"))
	ctx := ctxT(t)
	evtStream := topic.Stream("", topic.KindEvent, "payment")

	// The handler holds every command until all callers have sent theirs,
	// so all of them await at once.
	gate := make(chan struct{})
	_, err := bus.HandleCommand(ctx, payments, paymentCapture, func(ctx context.Context, m *bus.Message[payment]) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := bus.Publish(ctx, payments, paymentCaptured, payment{N: m.Data.N})
		return err
	}, bus.WithConcurrency(8))
	require.NoError(t, err)
	// Unrelated traffic on the same topic: events of other chains.
	_, err = bus.Publish(ctx, payments, paymentCaptured, payment{N: -1})
	require.NoError(t, err)

	const callers = 100
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("capture-%d", i)
			m, err := bus.SendAndAwait(ctx, web, paymentCapture, payment{N: i}, paymentCaptured, bus.WithID(id))
			switch {
			case err != nil:
				errs[i] = err
			case m.Data.N != i:
				errs[i] = fmt.Errorf("caller %d got the outcome of %d", i, m.Data.N)
			case m.Envelope.CorrelationID != id:
				errs[i] = fmt.Errorf("caller %d got an event of chain %s", i, m.Envelope.CorrelationID)
			}
		}()
	}
	cmds, err := web.JetStream().Stream(ctx, topic.Stream("", topic.KindCommand, "payment"))
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() bool {
		info, err := cmds.Info(ctx)
		return err == nil && info.State.Msgs >= callers
	}, "the callers did not all send their commands")
	require.Equal(t, 1, consumersOn(t, web, evtStream), "100 callers awaiting one topic must share one consumer")
	released := time.Now()
	close(gate)
	wg.Wait()
	t.Logf("%d concurrent SendAndAwait calls got their outcomes %s after the handler was released", callers, time.Since(released).Round(time.Millisecond))
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 0, consumersOn(t, web, evtStream), "SendAndAwait left a consumer behind")
}

func TestSendAndAwaitAnyReturnsWhicheverOutcomeCame(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	web := bustest.Connect(t, srv, bus.WithSource("web"))
	payments := bustest.Connect(t, srv, bus.WithSource("payments"))
	ctx := ctxT(t)
	_, err := bus.HandleCommand(ctx, payments, paymentCapture, func(ctx context.Context, m *bus.Message[payment]) error {
		evt := paymentCaptured
		if m.Data.N%2 == 1 {
			evt = paymentFailed
		}
		_, err := bus.Publish(ctx, payments, evt, payment{N: m.Data.N})
		return err
	})
	require.NoError(t, err)

	outcomes := []bus.Awaited{bus.Await(paymentCaptured), bus.Await(paymentFailed)}
	for n := range 4 {
		o, err := bus.SendAndAwaitAny(ctx, web, paymentCapture, payment{N: n}, outcomes)
		require.NoError(t, err)
		captured, isCaptured, err := bus.OutcomeOf(o, paymentCaptured)
		require.NoError(t, err)
		failed, isFailed, err := bus.OutcomeOf(o, paymentFailed)
		require.NoError(t, err)
		if n%2 == 0 {
			require.True(t, isCaptured && !isFailed, "payment %d: want captured, got %s", n, o.Topic)
			require.Equal(t, n, captured.Data.N)
		} else {
			require.True(t, isFailed && !isCaptured, "payment %d: want failed, got %s", n, o.Topic)
			require.Equal(t, n, failed.Data.N)
		}
	}
	require.Equal(t, 0, consumersOn(t, web, topic.Stream("", topic.KindEvent, "payment")))
	_, err = bus.SendAndAwaitAny(ctx, web, paymentCapture, payment{}, nil)
	require.ErrorIs(t, err, bus.ErrInvalidOption)
}

func TestSendAndAwaitTimeoutReturnsTheContextsError(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("web"))
	// Nobody handles the command, so no outcome comes.
	ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
	defer cancel()
	_, err := bus.SendAndAwait(ctx, b, paymentCapture, payment{N: 1}, paymentCaptured)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, errors.Is(err, bus.ErrClosed))
	require.Equal(t, 0, consumersOn(t, b, topic.Stream("", topic.KindEvent, "payment")), "a timed-out await left its consumer")
}

func TestSendAndAwaitEndsWhenTheBusCloses(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	b, err := bus.Connect(ctxT(t), srv.ClientURL(), bus.WithSource("web"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := bus.SendAndAwait(ctxT(t), b, paymentCapture, payment{N: 1}, paymentCaptured)
		done <- err
	}()
	cmds := topic.Stream("", topic.KindCommand, "payment")
	eventually(t, 10*time.Second, func() bool {
		s, err := b.JetStream().Stream(ctxT(t), cmds)
		return err == nil && s.CachedInfo().State.Msgs == 1
	}, "the command was not sent")
	require.NoError(t, b.Close(ctxT(t)))
	select {
	case err := <-done:
		require.ErrorIs(t, err, bus.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("SendAndAwait kept waiting after Close")
	}
}
