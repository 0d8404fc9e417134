package bus_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// parkByHand stores a dead letter as the bus parks one, for tests that
// need many of them quickly.
func parkByHand(t testing.TB, js jetstream.JetStream, stream, consumer, subject string, seq uint64, body []byte) {
	t.Helper()
	m := &nats.Msg{Subject: topic.DeadLetterSubject("", stream, consumer)}
	require.NoError(t, envelope.Write(m, &envelope.Envelope{
		ID: envelope.NewID(), Source: "test", Type: strings.TrimPrefix(subject, "evt."), Data: body,
	}))
	m.Header.Set(jetstream.MsgIDHeader, topic.DeadLetterMsgID(stream, consumer, seq))
	m.Header.Set(topic.HeaderDeadLetterConsumer, consumer)
	m.Header.Set(topic.HeaderDeadLetterSubject, subject)
	m.Header.Set(topic.HeaderDeadLetterStream, stream)
	m.Header.Set(topic.HeaderDeadLetterSequence, strconv.FormatUint(seq, 10))
	m.Header.Set(topic.HeaderDeadLetterReason, "test")
	_, err := js.PublishMsgAsync(m)
	require.NoError(t, err)
}

// Listing 10,000 dead letters of 4 KiB (40 MiB in all) holds only a batch
// at a time: the heap does not grow with the number listed.
//
// Not parallel: the heap is the whole test process's, so other tests'
// allocations would count too.
func TestDeadLettersIterateWithBoundedMemory(t *testing.T) {
	b := bustest.New(t)
	ctx := ctxT(t)
	provisionDeadLetters(t, b)
	const n, size = 10_000, 4 << 10
	body := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	for i := range n {
		parkByHand(t, b.JetStream(), "EVT_user", "g__v1_user_signedup", "evt.v1.user.signedup", uint64(i+1), body)
		if i%1000 == 999 { // stay well inside the async window on a loaded machine
			select {
			case <-b.JetStream().PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatal("parking by hand did not complete")
			}
		}
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := int64(ms.HeapAlloc), int64(ms.HeapAlloc)
	var series []int64
	count := 0
	for dl, err := range b.DeadLetters(ctx, bus.DeadLetterFilter{}) {
		require.NoError(t, err)
		require.Len(t, dl.Data, size)
		count++
		if count%1000 == 0 {
			runtime.GC() // live data only: what the iteration holds
			runtime.ReadMemStats(&ms)
			peak = max(peak, int64(ms.HeapAlloc))
			series = append(series, (int64(ms.HeapAlloc)-base)>>10)
		}
	}
	require.Equal(t, n, count)
	growth := peak - base
	t.Logf("live heap growth every 1000 (KiB): %v", series)
	t.Logf("listed %d dead letters of %d bytes (%d MiB); heap grew by at most %.1f MiB", n, size, n*size>>20, float64(growth)/(1<<20))
	// The in-process server shares this heap: its block cache of the
	// dead-letter stream accounts for most of the growth (8 MiB blocks).
	// Holding the dead letters would grow the heap past all 40 MiB of them.
	require.Less(t, growth, int64(n*size*3/4), "the heap grew by most of the dead letters: they are being held, not streamed")
	require.Less(t, series[len(series)-1], series[0]+16<<10, "the heap keeps growing while iterating")
}

// Filters narrow by group, consumer, topic and time, and Limit stops
// early; PurgeDeadLetters deletes exactly the filtered set.
func TestDeadLetterFiltersAndPurge(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	ctx := ctxT(t)
	fail := func(context.Context, *bus.Message[signedUp]) error { return bus.Permanent(errors.New("no")) }
	failCmd := func(context.Context, *bus.Message[signup]) error { return bus.Permanent(errors.New("no")) }
	other := topic.MustEvent[signedUp]("v1.user.deleted")
	for _, s := range []struct {
		evt   topic.Event[signedUp]
		group string
	}{{signedUpEvt, "email"}, {signedUpEvt, "metrics"}, {other, "email"}} {
		_, err := bus.Subscribe(ctx, b, s.evt, s.group, fail)
		require.NoError(t, err)
	}
	_, err := bus.HandleCommand(ctx, b, signupCmd, failCmd)
	require.NoError(t, err)

	for i := range 3 {
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	_, err = bus.Publish(ctx, b, other, signedUp{N: 9})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{N: 7})
	require.NoError(t, err)
	all := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{}, 3+3+1+1)
	require.Len(t, all, 8)

	count := func(f bus.DeadLetterFilter) int { return len(bustest.DeadLetters(t, b, f)) }
	require.Equal(t, 4, count(bus.DeadLetterFilter{Group: "email"}))
	require.Equal(t, 3, count(bus.DeadLetterFilter{Group: "metrics"}))
	require.Equal(t, 1, count(bus.DeadLetterFilter{Group: "accounts"}), "a service's command handlers are its group")
	require.Equal(t, 6, count(bus.DeadLetterFilter{Topic: "v1.user.signedup"}))
	require.Equal(t, 3, count(bus.DeadLetterFilter{Group: "email", Topic: "v1.user.signedup"}))
	require.Equal(t, 1, count(bus.DeadLetterFilter{Consumer: "email__v1_user_deleted"}))
	require.Equal(t, 1, count(bus.DeadLetterFilter{Topic: "v1.user.signup"}))
	require.Equal(t, 2, count(bus.DeadLetterFilter{Group: "email", Limit: 2}))
	require.Zero(t, count(bus.DeadLetterFilter{Since: time.Now().Add(time.Hour)}))
	require.Equal(t, 8, count(bus.DeadLetterFilter{Since: all[0].FailedAt.Add(-time.Second)}))

	for _, bad := range []bus.DeadLetterFilter{{Topic: "not a topic"}, {Group: "a.b"}, {Limit: -1}, {Consumer: "x y"},
		{Group: "email", Topic: "v1.user.signedup", Consumer: "metrics__v1_user_signedup"}} {
		for _, err := range b.DeadLetters(ctx, bad) {
			require.ErrorIs(t, err, bus.ErrInvalidOption, "%+v", bad)
		}
	}

	n, err := b.PurgeDeadLetters(ctx, bus.DeadLetterFilter{Group: "email", Topic: "v1.user.signedup"})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = b.PurgeDeadLetters(ctx, bus.DeadLetterFilter{Consumer: "metrics__v1_user_signedup"})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	left := bustest.DeadLetters(t, b, bus.DeadLetterFilter{})
	require.Len(t, left, 2)
	for _, dl := range left {
		require.Contains(t, []string{"email__v1_user_deleted", "accounts__v1_user_signup"}, dl.Consumer)
	}
	require.NoError(t, b.DeleteDeadLetter(ctx, left[0]))
	require.NoError(t, b.DeleteDeadLetter(ctx, left[0]), "deleting twice is not an error")
	require.Len(t, bustest.DeadLetters(t, b, bus.DeadLetterFilter{}), 1)
}

// A forged dead letter cannot make Redeliver publish anywhere but a topic
// subject of the stream it names, read by the consumer it names.
func TestRedeliverRefusesForgedDeadLetters(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "email", func(context.Context, *bus.Message[signedUp]) error { return nil })
	require.NoError(t, err)
	provisionDeadLetters(t, b)
	js := b.JetStream()
	for i, forged := range []struct{ stream, consumer, subject string }{
		{"EVT_user", "email__v1_user_signedup", "$JS.API.STREAM.DELETE.EVT_user"},
		{"EVT_user", "email__v1_user_signedup", "evt.v1.order.placed"},               // another stream's topic
		{"EVT_user", "email__v1_user_signedup", "evt.v1.user.deleted"},               // a topic the consumer does not read
		{"EVT_user", "email__v1_user_signedup", "staging.evt.v1.user.signedup"},      // another namespace
		{"EVT_user", "email__v1_user_signedup", "cmd.v1.user.signup"},                // a command, on the event stream
		{"CMD_user", "email__v1_user_signedup", "cmd.v1.user.signup"},                // the consumer is not on that stream
		{"EVT_user", "email__v1_user_signedup", "evt.v1.user.signedup.extra.tokens"}, // not a topic
	} {
		parkByHand(t, js, forged.stream, forged.consumer, forged.subject, uint64(100+i), []byte(`{}`))
	}
	<-js.PublishAsyncComplete()
	dls := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{}, 7)
	for _, dl := range dls {
		err := b.Redeliver(ctx, dl)
		require.Error(t, err, "redelivered a forged dead letter to %s", dl.Subject)
		if !errors.Is(err, bus.ErrForeignDeadLetter) {
			require.Contains(t, err.Error(), "is not there", "%s", dl.Subject)
		}
	}
	_, err = js.Stream(ctx, "EVT_user")
	require.NoError(t, err, "the stream must survive")
	require.Len(t, bustest.DeadLetters(t, b, bus.DeadLetterFilter{}), 7, "refused dead letters stay for an operator")
}

// Reading dead letters only looks at the dead-letter stream: it neither
// creates it nor raises the settings an operator gave it.
func TestReadingDeadLettersChangesNothing(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	require.Empty(t, bustest.DeadLetters(t, b, bus.DeadLetterFilter{}))
	_, err := b.JetStream().Stream(ctx, "DLQ")
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound, "a read created the dead-letter stream")

	_, err = b.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name: "DLQ", Subjects: []string{"dlq.>"}, MaxAge: time.Hour, MaxBytes: 1 << 20, Storage: jetstream.FileStorage,
	})
	require.NoError(t, err)
	require.Empty(t, bustest.DeadLetters(t, b, bus.DeadLetterFilter{}))
	s, err := b.JetStream().Stream(ctx, "DLQ")
	require.NoError(t, err)
	require.Equal(t, time.Hour, s.CachedInfo().Config.MaxAge, "a read raised the max age")
	require.Equal(t, int64(1<<20), s.CachedInfo().Config.MaxBytes, "a read raised the max bytes")
}
