package bus_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// Stop closes the work channel once ConsumeContext.Closed() is closed, but
// after ConsumeContext.Stop nats.go closes that channel as soon as the
// subscription is unsubscribed, while its delivery goroutine may still be
// inside the dispatch callback. dispatch's send can then meet close(work):
// the race detector reports it, and at run time a select with a ready
// ctx.Done and a closed work channel panics ("send on closed channel") half
// the time. Run with -race.
func TestStopDoesNotRaceDispatch(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	for i := range 2000 {
		_, err := bus.PublishAsync(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	require.NoError(t, b.Flush(ctx))
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); {
		sub, err := bus.Subscribe(ctx, b, signedUpEvt, "stopper", func(context.Context, *bus.Message[signedUp]) error { return nil },
			bus.WithConcurrency(1+rand.IntN(3)))
		require.NoError(t, err)
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		sub.Stop()
	}
}
