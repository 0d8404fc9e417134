package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/idempotency/idempotencytest"
)

func TestKVStoreConformance(t *testing.T) {
	t.Parallel()
	js, _ := startJetStream(t)
	var n atomic.Int64
	idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
		// A bucket per subtest, so each also exercises NewKVStore.
		bucket := "conformance_" + strings.Repeat("x", int(n.Add(1)))
		s, err := idempotency.NewKVStore(context.Background(), js, bucket)
		require.NoError(t, err)
		return s
	})
}

func TestKVStoreSharedBucketConformance(t *testing.T) {
	t.Parallel()
	js, _ := startJetStream(t)
	s, err := idempotency.NewKVStore(context.Background(), js, "shared")
	require.NoError(t, err)
	idempotencytest.Run(t, func(*testing.T) idempotency.Store { return s })
}

func TestKVStoreTwoConnectionsShareClaims(t *testing.T) {
	t.Parallel()
	js1, srv := startJetStream(t)
	js2 := connectJetStream(t, srv.ClientURL())
	ctx := context.Background()
	a, err := idempotency.NewKVStore(ctx, js1, "orders")
	require.NoError(t, err)
	b, err := idempotency.NewKVStore(ctx, js2, "orders") // opens the same bucket
	require.NoError(t, err)

	key := idempotency.Key{Scope: "billing", ID: "order/42"}
	c, err := a.Claim(ctx, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c.Status)

	got, err := b.Claim(ctx, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Busy, got.Status)
	require.WithinDuration(t, c.Until, got.Until, time.Millisecond, "Busy reports the holder's lease end")

	require.NoError(t, a.Complete(ctx, c, time.Hour))
	got, err = b.Claim(ctx, key, time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Done, got.Status)
}

func TestNewKVStoreRejectsIncompatibleBuckets(t *testing.T) {
	t.Parallel()
	js, _ := startJetStream(t)
	ctx := context.Background()

	_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "plain"})
	require.NoError(t, err)
	_, err = idempotency.NewKVStore(ctx, js, "plain")
	require.ErrorIs(t, err, jetstream.ErrBucketExists)
	require.ErrorContains(t, err, "per-key TTLs")

	_, err = idempotency.NewKVStore(ctx, js, "mem", idempotency.WithStorage(jetstream.MemoryStorage))
	require.NoError(t, err)
	_, err = idempotency.NewKVStore(ctx, js, "mem") // file storage asked for
	require.ErrorIs(t, err, jetstream.ErrBucketExists)
	require.ErrorContains(t, err, "storage")

	_, err = idempotency.NewKVStore(ctx, js, "mem", idempotency.WithStorage(jetstream.MemoryStorage), idempotency.WithReplicas(3))
	require.Error(t, err, "three replicas on a single server")

	_, err = idempotency.NewKVStore(ctx, js, "bad name")
	require.ErrorIs(t, err, jetstream.ErrInvalidBucketName)

	_, err = idempotency.NewKVStore(ctx, nil, "x")
	require.Error(t, err)
}

func TestKVStoreRejectsForeignRecords(t *testing.T) {
	t.Parallel()
	js, _ := startJetStream(t)
	ctx := context.Background()
	s, err := idempotency.NewKVStore(ctx, js, "foreign")
	require.NoError(t, err)
	kv, err := js.KeyValue(ctx, "foreign")
	require.NoError(t, err)
	_, err = kv.PutString(ctx, "s.k", "something else")
	require.NoError(t, err)
	_, err = s.Claim(ctx, idempotency.Key{Scope: "s", ID: "k"}, time.Minute)
	require.ErrorContains(t, err, "not written by this package")
}

func TestKVStoreUnavailable(t *testing.T) {
	t.Parallel()
	js, srv := startJetStream(t)
	ctx := context.Background()
	s, err := idempotency.NewKVStore(ctx, js, "gone")
	require.NoError(t, err)
	srv.Shutdown()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = s.Claim(ctx, idempotency.Key{Scope: "s", ID: "k"}, time.Minute)
	require.Error(t, err)
	require.False(t, errors.Is(err, idempotency.ErrLeaseLost))
	require.Contains(t, err.Error(), `bucket "gone"`)
}
