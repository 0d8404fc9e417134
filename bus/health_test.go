package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
)

// Health turns non-nil when the server goes away and nil again when it is
// back, without anyone touching the bus.
func TestHealthFollowsTheServer(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	port := srv.Port()
	b := bustest.Connect(t, srv)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error { return nil })
	require.NoError(t, err)
	require.NoError(t, b.Health(ctx))
	st := b.Status(ctx)
	require.Len(t, st, 1)
	require.Equal(t, bus.StateConsuming, st[0].State)
	require.Equal(t, "g__v1_user_signedup", st[0].Consumer)

	// A probe gives each check a short deadline, as a readiness endpoint does.
	probe := func() error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return b.Health(ctx)
	}
	srv.Shutdown()
	var down error
	eventually(t, 30*time.Second, func() bool { down = probe(); return down != nil }, "Health stayed nil with the server down")
	require.ErrorIs(t, down, bus.ErrUnhealthy)

	srv2, err := embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
	require.NoError(t, err)
	t.Cleanup(srv2.Shutdown)
	eventually(t, 30*time.Second, func() bool { return probe() == nil }, "Health did not recover after the server returned")
}
