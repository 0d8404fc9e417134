package bus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// attempts records when and with which Attempt a handler ran.
type attempts struct {
	mu    sync.Mutex
	at    []time.Time
	count []int
}

func (a *attempts) add(n int) {
	a.mu.Lock()
	a.at = append(a.at, time.Now())
	a.count = append(a.count, n)
	a.mu.Unlock()
}

func (a *attempts) snapshot() ([]time.Time, []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...), append([]int(nil), a.count...)
}

func (a *attempts) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

func TestRetriesBackOffAndCountAttempts(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var rec attempts
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		rec.add(m.Attempt)
		if m.Attempt < 3 {
			return errors.New("downstream unavailable")
		}
		return nil
	}, bus.WithBackoff(300*time.Millisecond, 900*time.Millisecond), bus.WithMaxDeliver(5))
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{Email: "a@example.com"})
	require.NoError(t, err)

	eventually(t, 10*time.Second, func() bool { return rec.len() == 3 }, "want 3 attempts")
	time.Sleep(1200 * time.Millisecond) // an ack that failed would show as a 4th attempt
	at, count := rec.snapshot()
	require.Equal(t, []int{1, 2, 3}, count)
	gap1, gap2 := at[1].Sub(at[0]), at[2].Sub(at[1])
	require.GreaterOrEqual(t, gap1, 280*time.Millisecond, "first retry came after %s, before the 300ms back-off", gap1)
	require.GreaterOrEqual(t, gap2, 850*time.Millisecond, "second retry came after %s, before the 900ms back-off", gap2)
	require.Less(t, gap1, 5*time.Second)
}

func TestRetryAfterOverridesBackoff(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var rec attempts
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		rec.add(m.Attempt)
		if m.Attempt == 1 {
			return bus.RetryAfter(errors.New("rate limited"), 700*time.Millisecond)
		}
		return nil
	}, bus.WithBackoff(10*time.Second))
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.NoError(t, err)
	eventually(t, 5*time.Second, func() bool { return rec.len() == 2 }, "want 2 attempts")
	at, _ := rec.snapshot()
	require.GreaterOrEqual(t, at[1].Sub(at[0]), 650*time.Millisecond)
}

func TestPermanentDeadLettersOnFirstAttempt(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	ctx := ctxT(t)
	var rec attempts
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		rec.add(m.Attempt)
		return bus.Permanent(errors.New("invalid email"))
	})
	require.NoError(t, err)
	r, err := bus.Send(ctx, b, signupCmd, signup{Email: "not-an-email"}, bus.WithSubject("user-7"))
	require.NoError(t, err)

	dls := waitDeadLetters(t, b, 1)
	dl := dls[0]
	require.Equal(t, 1, rec.len())
	require.Contains(t, dl.Reason, "invalid email")
	require.Equal(t, 1, dl.Deliveries)
	require.Equal(t, "cmd.v1.user.signup", dl.Subject)
	require.Equal(t, "accounts__v1_user_signup", dl.Consumer)
	require.Equal(t, "CMD_user", dl.Stream)
	require.Equal(t, r.Sequence, dl.StreamSequence)
	require.NotNil(t, dl.Envelope)
	require.Equal(t, r.ID, dl.Envelope.ID)
	require.Equal(t, "user-7", dl.Envelope.Subject)
	require.WithinDuration(t, time.Now(), dl.FailedAt, time.Minute)
	_ = ctx
}

func TestMaxDeliverExhaustionDeadLettersWithCount(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var rec attempts
	var lastMu sync.Mutex
	var last []bool
	recordLast := func(next bus.HandlerFunc) bus.HandlerFunc {
		return func(ctx context.Context, d *bus.Delivery) error {
			lastMu.Lock()
			last = append(last, d.LastAttempt())
			lastMu.Unlock()
			return next(ctx, d)
		}
	}
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "flaky", func(_ context.Context, m *bus.Message[signedUp]) error {
		rec.add(m.Attempt)
		return errors.New("still failing")
	}, bus.WithMaxDeliver(3), bus.WithBackoff(50*time.Millisecond), bus.Use(recordLast))
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{UserID: "u1"})
	require.NoError(t, err)
	dls := waitDeadLetters(t, b, 1)
	require.Equal(t, 3, dls[0].Deliveries)
	require.Contains(t, dls[0].Reason, "still failing")
	require.Contains(t, dls[0].Reason, "failed 3 times")
	_, count := rec.snapshot()
	require.Equal(t, []int{1, 2, 3}, count)
	lastMu.Lock()
	defer lastMu.Unlock()
	require.Equal(t, []bool{false, false, true}, last)
}

func TestRedeliverBringsDeadLetterBackToItsGroupOnly(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	var fail sync.Mutex
	failing := true
	var flaky, other attempts
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "flaky", func(_ context.Context, m *bus.Message[signedUp]) error {
		flaky.add(m.Attempt)
		fail.Lock()
		defer fail.Unlock()
		if failing {
			return bus.Permanent(errors.New("bug in handler"))
		}
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "other", func(_ context.Context, m *bus.Message[signedUp]) error {
		other.add(m.Attempt)
		return nil
	})
	require.NoError(t, err)
	r, err := bus.Publish(ctx, b, signedUpEvt, signedUp{UserID: "u1"})
	require.NoError(t, err)
	dls := waitDeadLetters(t, b, 1)

	fail.Lock()
	failing = false // the bug is fixed
	fail.Unlock()
	require.NoError(t, b.Redeliver(ctx, dls[0]))
	eventually(t, 5*time.Second, func() bool { return flaky.len() == 2 }, "redelivered message not handled")
	// The copy is on the topic's own subject (each consumer keeps a single
	// filter): the other group receives it too and must ack it unhandled.
	js := b.JetStream()
	eventually(t, 5*time.Second, func() bool {
		info, err := js.Consumer(ctx, "EVT_user", "other__v1_user_signedup")
		return err == nil && info.CachedInfo().AckFloor.Stream == r.Sequence+1 && info.CachedInfo().NumAckPending == 0
	}, "the other group did not ack the redelivered copy")
	require.Equal(t, 1, other.len(), "the other group must not handle the redelivery")
	for _, group := range []string{"flaky", "other"} {
		c, err := js.Consumer(ctx, "EVT_user", group+"__v1_user_signedup")
		require.NoError(t, err)
		cfg := c.CachedInfo().Config
		require.Equal(t, "evt.v1.user.signedup", cfg.FilterSubject, "a consumer filters on its topic alone")
		require.Empty(t, cfg.FilterSubjects)
	}

	left, err := allDeadLetters(ctx, b)
	require.NoError(t, err)
	require.Empty(t, left, "Redeliver must remove the dead letter")
}

func TestUndecodableMessagesAreDeadLetteredWhileGoodOnesFlow(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	good := newCounter()
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "sink", func(_ context.Context, m *bus.Message[signedUp]) error {
		good.add(m.Data.N, "x")
		return nil
	}, bus.WithConcurrency(2))
	require.NoError(t, err)
	// Provision the stream, then publish junk with a raw client.
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 0})
	require.NoError(t, err)
	js := b.JetStream()
	_, err = js.Publish(ctx, "evt.v1.user.signedup", []byte("\x00\xffgarbage"))
	require.NoError(t, err)
	wrongShape := rawCloudEvent(t, "evt.v1.user.signedup", `{"n":"not a number"}`)
	_, err = js.PublishMsg(ctx, wrongShape)
	require.NoError(t, err)
	for i := 1; i < 20; i++ {
		_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	good.waitDistinct(t, 20, 10*time.Second)
	dls := waitDeadLetters(t, b, 2)
	var reasons []string
	for _, dl := range dls {
		reasons = append(reasons, dl.Reason)
		require.Equal(t, 1, dl.Deliveries, "undecodable messages must not be retried")
	}
	joined := strings.Join(reasons, "\n")
	require.Contains(t, joined, "not a CloudEvent")
	require.Contains(t, joined, "does not decode")
	require.Equal(t, []byte("\x00\xffgarbage"), findRaw(dls, "not a CloudEvent").Data)
}

func findRaw(dls []bus.DeadLetter, reason string) bus.DeadLetter {
	for _, dl := range dls {
		if strings.Contains(dl.Reason, reason) {
			return dl
		}
	}
	return bus.DeadLetter{}
}

func waitDeadLetters(t *testing.T, b *bus.Bus, n int) []bus.DeadLetter {
	t.Helper()
	var dls []bus.DeadLetter
	eventually(t, 15*time.Second, func() bool {
		var err error
		dls, err = allDeadLetters(context.Background(), b)
		require.NoError(t, err)
		return len(dls) >= n
	}, "want %d dead letters", n)
	require.Len(t, dls, n)
	return dls
}
