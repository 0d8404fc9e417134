package bus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// WithConcurrency promises that a buffered message never outlives its ack
// wait. With concurrency 1 the next message is already delivered (and its
// ack-wait clock running) while the current handler works; if the handler
// takes more than half the ack wait, the queued message expires before its
// own handler even starts, the server redelivers it, and the same message is
// handled twice without ever failing.
func TestQueuedMessageIsNotHandledTwice(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var mu sync.Mutex
	runs := map[int][]int{} // N -> attempts seen
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		mu.Lock()
		runs[m.Data.N] = append(runs[m.Data.N], m.Attempt)
		mu.Unlock()
		time.Sleep(700 * time.Millisecond) // well within the 1s ack wait
		return nil
	}, bus.WithAckWait(time.Second))
	require.NoError(t, err)
	for i := range 2 {
		_, err := bus.Send(ctx, b, signupCmd, signup{N: i})
		require.NoError(t, err)
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[int][]int{0: {1}, 1: {1}}, runs, "every handler succeeded within its ack wait, yet a message was handled again")
}
