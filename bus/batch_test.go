package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// storedInOrder reads every message of a stream in stream order and
// returns the N of each payload and its id.
func storedInOrder(t *testing.T, js jetstream.JetStream, stream string) (ns []int, ids []string) {
	t.Helper()
	ctx := ctxT(t)
	s, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		require.NoError(t, err, "stream sequence %d", seq)
		env, err := envelope.Read(m.Header, m.Data)
		require.NoError(t, err)
		var p signedUp
		require.NoError(t, json.Unmarshal(env.Data, &p))
		ns = append(ns, p.N)
		ids = append(ids, env.ID)
	}
	return ns, ids
}

func streamOf(t *testing.T, b *bus.Bus, e topic.Event[signedUp]) string {
	t.Helper()
	return topic.Stream(b.Namespace(), topic.KindEvent, e.Name().Entity)
}

func TestBatchStoresEveryMessageInOrderAndTurnsOnBatching(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	// The stream exists without allow_batched first, as one provisioned
	// by an older choreo would.
	_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: -1})
	require.NoError(t, err)
	stream := streamOf(t, b, signedUpEvt)
	s, err := b.JetStream().Stream(ctx, stream)
	require.NoError(t, err)
	require.False(t, s.CachedInfo().Config.AllowBatchPublish)

	// A window smaller than the server's acknowledgement interval makes
	// Add wait for acknowledgements many times.
	batch, err := bus.PublishBatch(ctx, b, signedUpEvt, bus.WithBatchWindow(300))
	require.NoError(t, err)
	const n = 2500
	want := make([]string, n)
	for i := range n {
		want[i], err = batch.Add(ctx, signedUp{N: i})
		require.NoError(t, err)
	}
	require.Equal(t, n, batch.Len())
	r, err := batch.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, bus.BatchReceipt{Stream: stream, Count: n, LastSequence: n + 1}, r)

	s, err = b.JetStream().Stream(ctx, stream)
	require.NoError(t, err)
	require.True(t, s.CachedInfo().Config.AllowBatchPublish, "allow_batched is raised on the stream")
	ns, ids := storedInOrder(t, b.JetStream(), stream)
	require.Len(t, ns, n+1)
	require.Equal(t, -1, ns[0])
	for i := range n {
		require.Equal(t, i, ns[i+1], "stream position %d", i+2)
	}
	require.Equal(t, want, ids[1:])

	_, err = batch.Add(ctx, signedUp{N: n})
	require.ErrorContains(t, err, "already committed")
	again, err := batch.Commit(ctx)
	require.NoError(t, err, "a second Commit returns the first one's result")
	require.Equal(t, r, again)
}

func TestBatchWithoutMessagesCommitsAtOnce(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	batch, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	r, err := batch.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, r.Count)
	_, err = bus.PublishBatch(ctx, b, signedUpEvt, bus.WithBatchWindow(0))
	require.ErrorIs(t, err, bus.ErrInvalidOption)
}

func TestBatchIsStoredOnceCommittedAcrossAServerRestart(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("batch-durable"), bus.WithLogger(bustest.Logger(t)))
	require.NoError(t, err)
	batch, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	const n = 1200
	for i := range n {
		_, err := batch.Add(ctx, signedUp{N: i})
		require.NoError(t, err)
	}
	_, err = batch.Commit(ctx)
	require.NoError(t, err)
	stream := streamOf(t, b, signedUpEvt)
	require.NoError(t, b.Close(ctx))
	port := srv.Port()
	srv.Shutdown()

	srv2, err := embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
	require.NoError(t, err)
	t.Cleanup(srv2.Shutdown)
	b2 := bustest.Connect(t, srv2)
	ns, _ := storedInOrder(t, b2.JetStream(), stream)
	require.Len(t, ns, n)
	for i := range n {
		require.Equal(t, i, ns[i])
	}
}

// A server that restarts mid-batch forgets the batch: the client learns it
// from the server's answer to the next messages and reports how many are
// stored for sure. Publishing the whole batch again with the same ids then
// stores each message exactly once (the stream drops the duplicates, also
// a duplicate at the head of the new batch, which ends a batch on the
// server and makes the client start another).
func TestBatchInterruptedByAServerRestartReportsWhatIsStored(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	port := srv.Port()
	srv2 := (*embedded.Server)(nil)
	t.Cleanup(func() {
		if srv2 != nil {
			srv2.Shutdown()
		} else {
			srv.Shutdown()
		}
	})
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("batch-restart"), bus.WithLogger(bustest.Logger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })

	batch, err := bus.PublishBatch(ctx, b, signedUpEvt, bus.WithBatchWindow(200))
	require.NoError(t, err)
	var ids []string
	const before = 1000
	for i := range before {
		id, err := batch.Add(ctx, signedUp{N: i})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	srv.Shutdown()
	srv2, err = embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
	require.NoError(t, err)

	// Keep adding until the client hears that the server lost the batch.
	var addErr error
	for i := before; addErr == nil; i++ {
		require.Less(t, i, 1_000_000, "the client never noticed that the server lost the batch")
		var id string
		id, addErr = batch.Add(ctx, signedUp{N: i})
		if id != "" {
			ids = append(ids, id)
		}
	}
	require.ErrorIs(t, addErr, bus.ErrBatchInterrupted)
	var be *bus.BatchError
	require.True(t, errors.As(addErr, &be))
	require.Equal(t, len(ids), be.Added)
	_, err = batch.Commit(ctx)
	require.ErrorIs(t, err, bus.ErrBatchInterrupted, "Commit repeats the batch's error")

	stream := streamOf(t, b, signedUpEvt)
	ns, _ := storedInOrder(t, b.JetStream(), stream)
	require.GreaterOrEqual(t, len(ns), be.Stored, "at least what the error reports is stored")
	for i := range be.Stored {
		require.Equal(t, i, ns[i])
	}

	// Publish all of it again under the same ids.
	redo, err := bus.PublishBatch(ctx, b, signedUpEvt, bus.WithBatchWindow(200))
	require.NoError(t, err)
	for i, id := range ids {
		got, err := redo.Add(ctx, signedUp{N: i}, bus.WithID(id))
		require.NoError(t, err)
		require.Equal(t, id, got)
	}
	r, err := redo.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, len(ids), r.Count)
	ns, _ = storedInOrder(t, b.JetStream(), stream)
	require.Len(t, ns, len(ids), "every message stored once")
	seen := make(map[int]bool, len(ns))
	for _, n := range ns {
		require.False(t, seen[n], "message %d stored twice", n)
		seen[n] = true
	}
}

func TestBatchOfCommandsReachesTheHandler(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	got := make(chan int, 10)
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		got <- m.Data.N
		return nil
	})
	require.NoError(t, err)
	batch, err := bus.SendBatch(ctx, b, signupCmd)
	require.NoError(t, err)
	for i := range 3 {
		_, err := batch.Add(ctx, signup{N: i})
		require.NoError(t, err)
	}
	_, err = batch.Commit(ctx)
	require.NoError(t, err)
	seen := map[int]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < 3 {
		select {
		case n := <-got:
			seen[n] = true
		case <-timeout:
			t.Fatalf("handled %v of 3 commands", seen)
		}
	}
}

// Duplicates (same id within the duplicate window) are stored once,
// wherever they are in a batch, also as its first and last message.
func TestBatchSkipsMessagesAlreadyStored(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	first, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: 0})
	require.NoError(t, err)

	only, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	_, err = only.Add(ctx, signedUp{N: 0}, bus.WithID(first.ID))
	require.NoError(t, err)
	r, err := only.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, bus.BatchReceipt{Stream: first.Stream, Count: 1}, r, "nothing stored, so no last sequence")

	mixed, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	for i, id := range []string{first.ID, "", first.ID, "", first.ID} {
		var opts []bus.PublishOption
		if id != "" {
			opts = append(opts, bus.WithID(id))
		}
		_, err := mixed.Add(ctx, signedUp{N: i}, opts...)
		require.NoError(t, err)
	}
	r, err = mixed.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, r.Count)
	ns, _ := storedInOrder(t, b.JetStream(), first.Stream)
	require.Equal(t, []int{0, 1, 3}, ns)
}

// A batch published again whole on a replicated stream (after an
// interruption, say) stores each message once: the duplicates, the first
// message among them, are skipped and the batch goes on.
func TestBatchOnAReplicatedStreamRepublishedWholeStoresEachOnce(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	c, err := embedded.StartCluster(ctx, 3)
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)
	b, err := bus.Connect(ctx, c.ClientURLs(), bus.WithSource("batch-r3"), bus.WithReplicas(3), bus.WithLogger(bustest.Logger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })

	first, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	var ids []string
	for i := range 3 {
		id, err := first.Add(ctx, signedUp{N: i})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	_, err = first.Commit(ctx)
	require.NoError(t, err)

	again, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	for i := range 6 {
		var opts []bus.PublishOption
		if i < len(ids) {
			opts = append(opts, bus.WithID(ids[i]))
		}
		_, err := again.Add(ctx, signedUp{N: i}, opts...)
		require.NoError(t, err, "message %d", i)
	}
	r, err := again.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, 6, r.Count)
	require.Equal(t, uint64(6), r.LastSequence)
	ns, _ := storedInOrder(t, b.JetStream(), streamOf(t, b, signedUpEvt))
	require.Equal(t, []int{0, 1, 2, 3, 4, 5}, ns)
}

// A stream deleted behind the bus's back fails the batch at once (NATS
// answers "no responders"), and the next batch provisions it again.
func TestBatchOnADeletedStreamFailsAndTheNextOneProvisionsIt(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	batch, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	stream := streamOf(t, b, signedUpEvt)
	require.NoError(t, b.JetStream().DeleteStream(ctx, stream))

	_, err = batch.Add(ctx, signedUp{N: 0})
	require.ErrorIs(t, err, bus.ErrBatchInterrupted)
	require.ErrorIs(t, err, jetstream.ErrNoStreamResponse)
	var be *bus.BatchError
	require.True(t, errors.As(err, &be))
	require.Equal(t, bus.BatchError{Stored: 0, Added: 1, Err: be.Err}, *be)

	again, err := bus.PublishBatch(ctx, b, signedUpEvt)
	require.NoError(t, err)
	_, err = again.Add(ctx, signedUp{N: 1})
	require.NoError(t, err)
	r, err := again.Commit(ctx)
	require.NoError(t, err)
	require.Equal(t, bus.BatchReceipt{Stream: stream, Count: 1, LastSequence: 1}, r)
}
