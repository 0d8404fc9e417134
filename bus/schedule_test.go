package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

type reminder struct {
	N int `json:"n"`
}

var remindCmd = topic.MustCommand[reminder]("v1.user.remind")

// handledAt records when each message (by N) reached its handler, with
// its envelope's id and correlation id, in handling order.
type handledAt struct {
	mu    sync.Mutex
	order []int
	at    map[int]time.Time
	ids   map[int][2]string
}

func newHandledAt() *handledAt {
	return &handledAt{at: map[int]time.Time{}, ids: map[int][2]string{}}
}

func (h *handledAt) handler(_ context.Context, m *bus.Message[reminder]) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, seen := h.at[m.Data.N]; !seen {
		h.order = append(h.order, m.Data.N)
		h.at[m.Data.N] = time.Now()
		h.ids[m.Data.N] = [2]string{m.Envelope.ID, m.Envelope.CorrelationID}
	}
	return nil
}

func (h *handledAt) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order)
}

func TestDelayedCommandIsHandledNoEarlierThanItsDelay(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	handler := bustest.Connect(t, srv, bus.WithSource("mailer"))
	ctx := ctxT(t)
	h := newHandledAt()
	_, err := bus.HandleCommand(ctx, handler, remindCmd, h.handler)
	require.NoError(t, err)

	sent := time.Now()
	r, err := bus.Send(ctx, sender, remindCmd, reminder{N: 1}, bus.WithDelay(2*time.Second), bus.WithCorrelationID("req-42"))
	require.NoError(t, err)
	require.False(t, r.Duplicate)
	eventually(t, 30*time.Second, func() bool { return h.count() == 1 }, "the delayed command was never handled")

	gap := h.at[1].Sub(sent)
	t.Logf("2s delay: handled %s after Send", gap.Round(time.Millisecond))
	require.GreaterOrEqual(t, gap, 2*time.Second, "handled before its delay")
	require.Equal(t, [2]string{r.ID, "req-42"}, h.ids[1], "the handler must see the message's own id and correlation chain")

	// The schedule is gone once it fired: nothing waits on its subject.
	s, err := sender.JetStream().Stream(ctx, topic.Stream("", topic.KindCommand, "user"))
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() bool {
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	}, "the schedule or the fired command stayed in the work queue")
}

func TestDelayedCommandSurvivesServerAndHandlerRestart(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := t.TempDir()
	srv, err := embedded.Start(ctx, embedded.WithDir(dir))
	require.NoError(t, err)
	port := srv.Port()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			srv.Shutdown()
		}
	})
	connect := func(url, source string) *bus.Bus {
		b, err := bus.Connect(ctx, url, bus.WithSource(source), bus.WithLogger(bustest.Logger(t)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return b
	}
	sender := connect(srv.ClientURL(), "web")
	first := connect(srv.ClientURL(), "mailer")
	h := newHandledAt()
	_, err = bus.HandleCommand(ctx, first, remindCmd, h.handler)
	require.NoError(t, err)

	// The restart takes well under the delay here; if a busy machine made
	// it take longer, the message fires right after it instead, which
	// still proves the schedule was stored before the server went down.
	const delay = 2 * time.Second
	sent := time.Now()
	r, err := bus.Send(ctx, sender, remindCmd, reminder{N: 7}, bus.WithDelay(delay))
	require.NoError(t, err)

	// The handling service and the server go away while it is pending.
	require.NoError(t, first.Close(ctx))
	require.NoError(t, sender.Close(ctx))
	srv.Shutdown()
	srv2, err := embedded.Start(ctx, embedded.WithDir(dir), embedded.WithPort(port))
	require.NoError(t, err)
	restarted = true
	t.Cleanup(srv2.Shutdown)
	t.Logf("server back %s after Send", time.Since(sent).Round(time.Millisecond))

	second := connect(srv2.ClientURL(), "mailer")
	_, err = bus.HandleCommand(ctx, second, remindCmd, h.handler)
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() bool { return h.count() == 1 }, "the delayed command did not survive the restart")
	gap := h.at[7].Sub(sent)
	t.Logf("%s delay across restarts: handled %s after Send", delay, gap.Round(time.Millisecond))
	require.GreaterOrEqual(t, gap, delay, "handled before its delay")
	require.Equal(t, r.ID, h.ids[7][0])
}

func TestScheduledMessagesFireInOrderOfTheirTimes(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	handler := bustest.Connect(t, srv, bus.WithSource("mailer"))
	ctx := ctxT(t)
	h := newHandledAt()
	_, err := bus.HandleCommand(ctx, handler, remindCmd, h.handler)
	require.NoError(t, err)

	// Five groups of twenty, the groups 1.5 s apart and sent in shuffled
	// order, the messages of a group 10 ms apart: the server checks for
	// due messages every 250 ms at most and sends a batch in the order the
	// schedules were stored, so messages closer than that come in sending
	// order, which inside a group is their time order.
	const groups, per = 5, 20
	base := time.Now().Add(2 * time.Second)
	due := make(map[int]time.Time, groups*per)
	for _, g := range []int{3, 0, 4, 1, 2} {
		for i := range per {
			n := g*per + i
			due[n] = base.Add(time.Duration(g)*1500*time.Millisecond + time.Duration(i)*10*time.Millisecond)
			_, err := bus.Send(ctx, sender, remindCmd, reminder{N: n}, bus.WithDeliverAt(due[n]))
			require.NoError(t, err)
		}
	}
	eventually(t, 45*time.Second, func() bool { return h.count() == groups*per }, "not every scheduled message fired")

	h.mu.Lock()
	defer h.mu.Unlock()
	for i, n := range h.order {
		require.Equal(t, i, n, "message %d fired out of its time order: %v", n, h.order)
		require.False(t, h.at[n].Before(due[n]), "message %d handled %s before its time", n, due[n].Sub(h.at[n]))
	}
	t.Logf("first handled %s after its time, last %s after its time",
		h.at[0].Sub(due[0]).Round(time.Millisecond), h.at[groups*per-1].Sub(due[groups*per-1]).Round(time.Millisecond))
}

func TestDelayedMessageDeduplicatesAndDeadLetters(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	handler := bustest.Connect(t, srv, bus.WithSource("mailer"))
	ctx := ctxT(t)

	// The same id twice: the second publish is the first's duplicate.
	r1, err := bus.Send(ctx, sender, remindCmd, reminder{N: 1}, bus.WithID("reminder-1"), bus.WithDelay(time.Second))
	require.NoError(t, err)
	r2, err := bus.Send(ctx, sender, remindCmd, reminder{N: 1}, bus.WithID("reminder-1"), bus.WithDelay(time.Second))
	require.NoError(t, err)
	require.True(t, r2.Duplicate)
	require.Equal(t, r1.Sequence, r2.Sequence)

	var mu sync.Mutex
	calls := 0
	_, err = bus.HandleCommand(ctx, handler, remindCmd, func(context.Context, *bus.Message[reminder]) error {
		mu.Lock()
		calls++
		mu.Unlock()
		return bus.Permanent(errors.New("no such user"))
	})
	require.NoError(t, err)
	// A fired message carries the server's schedule headers; its dead
	// letter must not (the dead-letter stream would refuse it).
	dls := bustest.WaitDeadLetters(t, handler, bus.DeadLetterFilter{}, 1)
	require.Equal(t, "reminder-1", dls[0].Envelope.ID)
	for k := range dls[0].Header {
		require.NotContains(t, k, "Nats-Schedule")
	}
	mu.Lock()
	require.Equal(t, 1, calls, "the duplicate schedule was delivered too")
	mu.Unlock()
}

func TestDelayOptionsRefuseWhatCannotBeDelivered(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithEventMaxAge(time.Hour))
	ctx := ctxT(t)
	_, err := bus.Send(ctx, b, remindCmd, reminder{}, bus.WithDeliverAt(time.Time{}))
	require.ErrorIs(t, err, bus.ErrInvalidOption)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{}, bus.WithDelay(2*time.Hour))
	require.ErrorIs(t, err, bus.ErrInvalidOption)
	require.ErrorContains(t, err, "max age")

	// A time not in the future sends at once, on the topic's own subject.
	r, err := bus.Publish(ctx, b, signedUpEvt, signedUp{}, bus.WithDeliverAt(time.Now().Add(-time.Minute)))
	require.NoError(t, err)
	msg, err := b.JetStream().Stream(ctx, r.Stream)
	require.NoError(t, err)
	got, err := msg.GetMsg(ctx, r.Sequence)
	require.NoError(t, err)
	require.Equal(t, "evt.v1.user.signedup", got.Subject)
}

func TestDelayOnAStreamThatCannotScheduleSaysWhy(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("web"))
	ctx := ctxT(t)
	// An operator made the command stream with discard-new, which message
	// schedules do not allow; choreo otherwise accepts the stream.
	_, err := b.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name:      topic.Stream("", topic.KindCommand, "user"),
		Subjects:  []string{topic.StreamSubjects("", topic.KindCommand, "user")},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
		Discard:   jetstream.DiscardNew,
	})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, remindCmd, reminder{N: 1})
	require.NoError(t, err, "an ordinary send still works")
	_, err = bus.Send(ctx, b, remindCmd, reminder{N: 2}, bus.WithDelay(time.Minute))
	require.ErrorIs(t, err, bus.ErrIncompatible)
	require.ErrorContains(t, err, "cannot allow message schedules")
	require.ErrorContains(t, err, "discard new")
}

func TestDelayAfterTheStreamWasRecreatedWithoutSchedules(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	handler := bustest.Connect(t, srv, bus.WithSource("mailer"))
	ctx := ctxT(t)
	_, err := bus.Send(ctx, sender, remindCmd, reminder{N: 1}, bus.WithDelay(time.Hour))
	require.NoError(t, err)

	// Another service deletes the stream and provisions it anew, without
	// schedules, behind the sender's back.
	stream := topic.Stream("", topic.KindCommand, "user")
	require.NoError(t, sender.JetStream().DeleteStream(ctx, stream))
	h := newHandledAt()
	_, err = bus.HandleCommand(ctx, handler, remindCmd, h.handler)
	require.NoError(t, err)
	s, err := sender.JetStream().Stream(ctx, stream)
	require.NoError(t, err)
	require.False(t, s.CachedInfo().Config.AllowMsgSchedules)

	_, err = bus.Send(ctx, sender, remindCmd, reminder{N: 2}, bus.WithDelay(500*time.Millisecond))
	require.NoError(t, err, "the sender must turn schedules on again")
	eventually(t, 30*time.Second, func() bool { return h.count() == 1 }, "the delayed command was not handled")
}

func TestDelayedEventInANamespaceSentAsynchronously(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	sender := bustest.Connect(t, srv, bus.WithSource("web"), bus.WithNamespace("staging"))
	handler := bustest.Connect(t, srv, bus.WithSource("mailer"), bus.WithNamespace("staging"))
	ctx := ctxT(t)
	seen := newCounter()
	_, err := bus.Subscribe(ctx, handler, signedUpEvt, "sink", func(_ context.Context, m *bus.Message[signedUp]) error {
		seen.add(m.Data.N, "x")
		return nil
	})
	require.NoError(t, err)
	sent := time.Now()
	f, err := bus.PublishAsync(ctx, sender, signedUpEvt, signedUp{N: 1}, bus.WithDelay(time.Second))
	require.NoError(t, err)
	r, err := f.Wait(ctx)
	require.NoError(t, err)
	require.Equal(t, "staging_EVT_user", r.Stream)
	seen.waitDistinct(t, 1, 30*time.Second)
	require.GreaterOrEqual(t, time.Since(sent), time.Second)
}
