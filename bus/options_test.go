package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

func TestInvalidBusOptions(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	for _, tc := range []struct {
		name string
		opt  bus.Option
		want string
	}{
		{"source of 300 bytes", bus.WithSource(strings.Repeat("s", 300)), "the limit is 64"},
		{"source with a double underscore", bus.WithSource("a__b"), "no \"__\""},
		{"source with dot", bus.WithSource("my.service"), "source"},
		{"empty source", bus.WithSource(""), "source"},
		{"namespace upper case", bus.WithNamespace("Prod"), "namespace"},
		{"namespace wildcard", bus.WithNamespace("prod.*"), "namespace"},
		{"nil codec", bus.WithCodec(nil), "codec"},
		{"zero replicas", bus.WithReplicas(0), "replicas"},
		{"negative max age", bus.WithEventMaxAge(-time.Second), "negative"},
		{"dup window beyond max age", bus.WithDuplicateWindow(2 * time.Hour), "duplicate window"},
		{"nil middleware", bus.WithMiddleware(nil), "middleware"},
		{"async window", bus.WithAsyncMaxPending(0), "async"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []bus.Option{tc.opt}
			if tc.name == "dup window beyond max age" {
				opts = append(opts, bus.WithEventMaxAge(time.Hour))
			}
			_, err := bus.New(nc, opts...)
			require.ErrorIs(t, err, bus.ErrInvalidOption)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = bus.New(nil)
	require.ErrorIs(t, err, bus.ErrInvalidOption)
}

func TestInvalidSubscribeOptions(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := t.Context()
	noop := func(context.Context, *bus.Message[signedUp]) error { return nil }
	for _, tc := range []struct {
		name  string
		group string
		opt   bus.SubscribeOption
		want  string
	}{
		{"zero concurrency", "g", bus.WithConcurrency(0), "concurrency"},
		{"zero max deliver", "g", bus.WithMaxDeliver(0), "max deliver"},
		{"negative prefetch", "g", bus.WithPrefetch(-1), "prefetch"},
		{"no backoff", "g", bus.WithBackoff(), "back-off"},
		{"negative backoff", "g", bus.WithBackoff(-time.Second), "negative"},
		{"tiny ack wait", "g", bus.WithAckWait(time.Millisecond), "ack wait"},
		{"nil middleware", "g", bus.Use(nil), "middleware"},
		{"group with dot", "a.b", bus.WithConcurrency(1), "group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bus.Subscribe(ctx, b, signedUpEvt, tc.group, noop, tc.opt)
			require.ErrorIs(t, err, bus.ErrInvalidOption)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := bus.Subscribe[signedUp](ctx, b, signedUpEvt, "g", nil)
	require.ErrorIs(t, err, bus.ErrInvalidOption)
	_, err = bus.HandleCommand(ctx, b, signupCmd, func(context.Context, *bus.Message[signup]) error { return nil }, bus.WithDeliverNew())
	require.ErrorIs(t, err, bus.ErrInvalidOption)
}

func TestZeroTopicIsRejected(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	var zero topic.Event[signedUp]
	_, err := bus.Publish(context.Background(), b, zero, signedUp{})
	require.ErrorIs(t, err, topic.ErrInvalidName)
}

func TestPublishToDownServerFailsWithinDeadline(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv)
	ctx := ctxT(t)
	_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{})
	require.NoError(t, err)
	srv.Shutdown()
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = bus.Publish(short, b, signedUpEvt, signedUp{})
	require.Error(t, err)
	require.Less(t, time.Since(start), 2*time.Second, "publish hung past its deadline")
}

// An option refused because of another package's rule matches both
// sentinels and names one package, not a pile of prefixes.
func TestOptionErrorsCarryOnePrefix(t *testing.T) {
	t.Parallel()
	for _, opt := range []bus.Option{bus.WithSource("a__b"), bus.WithNamespace("Prod")} {
		_, err := bus.New(nil, opt)
		require.Error(t, err)
	}
	ctx := ctxT(t)
	for _, opt := range []bus.Option{bus.WithSource("a__b"), bus.WithNamespace("Prod")} {
		_, err := bus.Connect(ctx, "nats://127.0.0.1:1", opt)
		require.ErrorIs(t, err, bus.ErrInvalidOption)
		require.Equal(t, 1, strings.Count(err.Error(), "choreo/"), err.Error())
	}
	_, err := bus.Connect(ctx, "nats://127.0.0.1:1", bus.WithSource("a__b"))
	require.ErrorIs(t, err, topic.ErrInvalidGroup)
	_, err = bus.Connect(ctx, "nats://127.0.0.1:1", bus.WithNamespace("Prod"))
	require.ErrorIs(t, err, topic.ErrInvalidNamespace)
}
