package embedded_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/embedded"
)

func TestStartServesJetStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := embedded.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)

	require.Contains(t, srv.ClientURL(), "127.0.0.1")
	require.NotZero(t, srv.Port())

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}})
	require.NoError(t, err)
	ack, err := js.Publish(ctx, "s.one", []byte("x"))
	require.NoError(t, err)
	require.EqualValues(t, 1, ack.Sequence)
}

func TestRestartOnSameDirKeepsStreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	port := srv.Port()

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	for range 5 {
		_, err = js.Publish(ctx, "keep.x", []byte("x"))
		require.NoError(t, err)
	}
	nc.Close()
	srv.Shutdown()
	require.DirExists(t, dir, "a caller's dir must survive Shutdown")

	srv2, err := embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
	require.NoError(t, err)
	t.Cleanup(srv2.Shutdown)
	require.Equal(t, port, srv2.Port())

	nc2, err := nats.Connect(srv2.ClientURL())
	require.NoError(t, err)
	defer nc2.Close()
	js2, err := jetstream.New(nc2)
	require.NoError(t, err)
	s, err := js2.Stream(ctx, "KEEP")
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 5, info.State.Msgs)
}

func TestTempDirRemovedOnShutdown(t *testing.T) {
	t.Parallel()
	srv, err := embedded.Start(context.Background())
	require.NoError(t, err)
	dir := srv.Dir()
	require.DirExists(t, dir)
	srv.Shutdown()
	require.NoDirExists(t, dir)
	srv.Shutdown() // a second call is harmless
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	_, err := embedded.Start(context.Background(), embedded.WithPort(70000))
	require.ErrorIs(t, err, embedded.ErrStart)
	require.Contains(t, err.Error(), "out of range")

	srv, err := embedded.Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	start := time.Now()
	_, err = embedded.Start(context.Background(), embedded.WithPort(srv.Port()))
	require.True(t, errors.Is(err, embedded.ErrStart), "a taken port must fail with ErrStart, got %v", err)
	require.Contains(t, err.Error(), "in use")
	require.Less(t, time.Since(start), 5*time.Second, "a taken port must fail at once, not after the start timeout")
}

func TestLoggerReceivesServerLog(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	srv, err := embedded.Start(context.Background(), embedded.WithLogger(l))
	require.NoError(t, err)
	srv.Shutdown()
	require.Contains(t, buf.String(), "component=nats-server")
}
