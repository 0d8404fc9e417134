package idempotency_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/idempotency/idempotencytest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	idempotencytest.Run(t, func(*testing.T) idempotency.Store { return idempotency.NewMemoryStore() })
}

func TestMemoryStoreSharedConformance(t *testing.T) {
	t.Parallel()
	s := idempotency.NewMemoryStore()
	idempotencytest.Run(t, func(*testing.T) idempotency.Store { return s })
}

func key(id string) idempotency.Key { return idempotency.Key{Scope: "test", ID: id} }

func TestMemoryStoreEvictsOldestDoneWhenFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := idempotency.NewMemoryStore(idempotency.WithMaxEntries(3))
	for i := range 3 {
		c, err := s.Claim(ctx, key(fmt.Sprint(i)), time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, c, time.Hour))
	}
	c, err := s.Claim(ctx, key("new"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c.Status)
	require.Equal(t, 3, s.Len())

	// "0" was completed first, so it made room; "1" and "2" are remembered.
	for id, want := range map[string]idempotency.Status{"1": idempotency.Done, "2": idempotency.Done, "new": idempotency.Busy} {
		got, err := s.Claim(ctx, key(id), time.Minute)
		require.NoError(t, err)
		require.Equal(t, want, got.Status, id)
	}
	got, err := s.Claim(ctx, key("0"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, got.Status, "evicted key is forgotten")
}

func TestMemoryStoreNeverEvictsLiveClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := idempotency.NewMemoryStore(idempotency.WithMaxEntries(2))
	for _, id := range []string{"a", "b"} {
		_, err := s.Claim(ctx, key(id), time.Minute)
		require.NoError(t, err)
	}
	_, err := s.Claim(ctx, key("c"), time.Minute)
	require.ErrorIs(t, err, idempotency.ErrFull)

	// A claim whose lease ran out can make room.
	s2 := idempotency.NewMemoryStore(idempotency.WithMaxEntries(1))
	_, err = s2.Claim(ctx, key("old"), 10*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	c, err := s2.Claim(ctx, key("new"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, c.Status)
	require.Equal(t, 1, s2.Len())
}

func TestMemoryStoreSweepsExpiredRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := idempotency.NewMemoryStore()
	for i := range 4 {
		c, err := s.Claim(ctx, key(fmt.Sprint("done", i)), time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, c, 300*time.Millisecond))
		_, err = s.Claim(ctx, key(fmt.Sprint("claim", i)), 300*time.Millisecond)
		require.NoError(t, err)
	}
	require.Equal(t, 8, s.Len())
	time.Sleep(400 * time.Millisecond)
	// Each new key sweeps a couple of expired records from each list.
	for i := range 2 {
		_, err := s.Claim(ctx, key(fmt.Sprint("fresh", i)), time.Minute)
		require.NoError(t, err)
	}
	require.Equal(t, 2, s.Len())
}

func TestMemoryStoreDoneAndBusyPathsDoNotAllocate(t *testing.T) {
	ctx := context.Background()
	s := idempotency.NewMemoryStore()
	done, busy := key("done"), key("busy")
	c, err := s.Claim(ctx, done, time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Complete(ctx, c, time.Hour))
	_, err = s.Claim(ctx, busy, time.Minute)
	require.NoError(t, err)

	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = s.Claim(ctx, done, time.Minute)
		_, _ = s.Claim(ctx, busy, time.Minute)
	})
	require.Zero(t, allocs)
}
