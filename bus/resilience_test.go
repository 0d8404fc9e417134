package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

func TestDeletedConsumerIsRecreatedAndConsumptionResumes(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	seen := newCounter()
	sub, err := bus.Subscribe(ctx, b, signedUpEvt, "sink", func(_ context.Context, m *bus.Message[signedUp]) error {
		seen.add(m.Data.N, "x")
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 0})
	require.NoError(t, err)
	seen.waitDistinct(t, 1, 5*time.Second)

	// An operator deletes the consumer by mistake.
	require.NoError(t, b.JetStream().DeleteConsumer(ctx, "EVT_user", sub.Consumer()))
	eventually(t, 15*time.Second, func() bool {
		_, err := b.JetStream().Consumer(ctx, "EVT_user", sub.Consumer())
		return err == nil
	}, "consumer was not recreated")
	for i := 1; i <= 5; i++ {
		_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: i})
		require.NoError(t, err)
	}
	seen.waitDistinct(t, 6, 15*time.Second)
}

func TestCrashOnLastAttemptIsDeadLetteredFromAdvisory(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	// The crashing instance: it takes the message and never answers.
	crashing := bustest.Connect(t, srv, bus.WithSource("worker"))
	took := make(chan struct{}, 1)
	_, err := bus.HandleCommand(ctx, crashing, signupCmd, func(ctx context.Context, _ *bus.Message[signup]) error {
		took <- struct{}{}
		crashing.Conn().Close() // the process dies mid-handler: no ack, no nak
		<-ctx.Done()
		return ctx.Err()
	}, bus.WithMaxDeliver(1), bus.WithAckWait(time.Second))
	require.NoError(t, err)
	sender := bustest.Connect(t, srv, bus.WithSource("web"))
	r, err := bus.Send(ctx, sender, signupCmd, signup{Email: "crash@example.com"})
	require.NoError(t, err)
	<-took

	// The service comes back (a new instance): its converter reads the
	// advisory the server captured meanwhile.
	observer := bustest.Connect(t, srv, bus.WithSource("worker"))
	_, err = bus.HandleCommand(ctx, observer, signupCmd, func(context.Context, *bus.Message[signup]) error { return nil },
		bus.WithMaxDeliver(1), bus.WithAckWait(time.Second))
	require.NoError(t, err)

	dls := waitDeadLetters(t, observer, 1)
	require.Equal(t, r.ID, dls[0].Envelope.ID)
	require.Contains(t, dls[0].Reason, "max deliveries")
	require.Equal(t, "worker__v1_user_signup", dls[0].Consumer)
	require.Equal(t, "cmd.v1.user.signup", dls[0].Subject)
	// The work-queue stream no longer holds the abandoned command.
	eventually(t, 5*time.Second, func() bool {
		_, err := sender.JetStream().Stream(ctx, "CMD_user")
		if err != nil {
			return false
		}
		s, _ := sender.JetStream().Stream(ctx, "CMD_user")
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	}, "abandoned command still in its work queue")
}

func TestHandlerContextEndsAtAckDeadline(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	ended := make(chan time.Duration, 1)
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(ctx context.Context, m *bus.Message[signup]) error {
		if m.Attempt > 1 {
			return nil
		}
		start := time.Now()
		<-ctx.Done()
		ended <- time.Since(start)
		return ctx.Err()
	}, bus.WithAckWait(time.Second), bus.WithBackoff(10*time.Millisecond))
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.NoError(t, err)
	select {
	case d := <-ended:
		require.InDelta(t, float64(time.Second), float64(d), float64(300*time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("handler context was not cancelled at the ack deadline")
	}
}

func TestLongHandlerKeepsItsMessage(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	var runs atomic.Int64
	done := make(chan struct{})
	for range 2 {
		inst := bustest.Connect(t, srv, bus.WithSource("slow"))
		_, err := bus.HandleCommand(ctx, inst, signupCmd, func(ctx context.Context, _ *bus.Message[signup]) error {
			if runs.Add(1) > 1 {
				return nil
			}
			select { // three ack waits long
			case <-time.After(3 * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
			close(done)
			return nil
		}, bus.WithAckWait(time.Second), bus.WithHandlerTimeout(10*time.Second))
		require.NoError(t, err)
	}
	_, err := bus.Send(ctx, bustest.Connect(t, srv, bus.WithSource("web")), signupCmd, signup{})
	require.NoError(t, err)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("long handler did not finish")
	}
	time.Sleep(500 * time.Millisecond)
	require.EqualValues(t, 1, runs.Load(), "the message was redelivered while its handler was still working")
}

func TestStopCancelsRunningHandlers(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	started := make(chan struct{})
	var sawCancel atomic.Bool
	sub, err := bus.HandleCommand(ctx, b, signupCmd, func(ctx context.Context, _ *bus.Message[signup]) error {
		close(started)
		<-ctx.Done()
		sawCancel.Store(errors.Is(ctx.Err(), context.Canceled))
		return ctx.Err()
	})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.NoError(t, err)
	<-started
	stopped := make(chan struct{})
	go func() { sub.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	require.True(t, sawCancel.Load())
	sub.Stop() // idempotent
	require.NoError(t, sub.Drain(ctx))
}

func TestExistingIncompatibleStreamIsAClearError(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	// Someone made CMD_user by hand with the wrong retention.
	_, err := b.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name: "CMD_user", Subjects: []string{"cmd.*.user.>"}, Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage,
	})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signup{})
	require.ErrorIs(t, err, bus.ErrIncompatible)
	require.Contains(t, err.Error(), "retention")
	require.Contains(t, err.Error(), "CMD_user")
}

func TestSharedStreamSettingsAreRaisedNeverLowered(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	a := bustest.Connect(t, srv, bus.WithEventMaxAge(time.Hour))
	_, err := bus.Publish(ctx, a, signedUpEvt, signedUp{})
	require.NoError(t, err)
	b := bustest.Connect(t, srv, bus.WithEventMaxAge(2*time.Hour))
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{})
	require.NoError(t, err)
	s, err := b.JetStream().Stream(ctx, "EVT_user")
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, s.CachedInfo().Config.MaxAge)
	require.EqualValues(t, 2, s.CachedInfo().State.Msgs, "the update must keep the stream's messages")

	// A third service asking for less does not shrink what others rely on.
	c := bustest.Connect(t, srv, bus.WithEventMaxAge(30*time.Minute))
	_, err = bus.Publish(ctx, c, signedUpEvt, signedUp{})
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, info.Config.MaxAge)
}

func TestNamespacesIsolateEnvironments(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	staging := bustest.Connect(t, srv, bus.WithNamespace("staging"))
	prod := bustest.Connect(t, srv, bus.WithNamespace("prod.eu"))
	var stagingSeen, prodSeen atomic.Int64
	_, err := bus.Subscribe(ctx, staging, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error {
		stagingSeen.Add(1)
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Subscribe(ctx, prod, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error {
		prodSeen.Add(1)
		return nil
	})
	require.NoError(t, err)
	r, err := bus.Publish(ctx, prod, signedUpEvt, signedUp{})
	require.NoError(t, err)
	require.Equal(t, "prod_eu_EVT_user", r.Stream)
	eventually(t, 5*time.Second, func() bool { return prodSeen.Load() == 1 }, "prod event not handled")
	time.Sleep(200 * time.Millisecond)
	require.Zero(t, stagingSeen.Load(), "staging saw a prod event")
}

// A forged MAX_DELIVERIES advisory about a command whose handler is still
// running neither removes the command nor dead-letters it: the converter
// verifies against the server before acting.
func TestForgedMaxDeliveriesAdvisoryIsNotTrusted(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	ctx := ctxT(t)
	started, release := make(chan struct{}), make(chan struct{})
	handled := make(chan string, 2)
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		close(started)
		<-release
		handled <- m.Envelope.ID
		return nil
	}, bus.WithAckWait(time.Second), bus.WithHandlerTimeout(time.Minute))
	require.NoError(t, err)
	r, err := bus.Send(ctx, b, signupCmd, signup{Email: "live@example.com"})
	require.NoError(t, err)
	<-started

	forged := fmt.Sprintf(`{"stream":"CMD_user","consumer":"accounts__v1_user_signup","stream_seq":%d,"deliveries":1}`, r.Sequence)
	js := b.JetStream()
	_, err = js.Publish(ctx, strings.TrimSuffix(topic.AdvisorySubject("CMD_user"), "*")+"accounts__v1_user_signup", []byte(forged))
	require.NoError(t, err, "the advisory stream captures the subject, as it would the server's")
	advisories, err := js.Consumer(ctx, topic.AdvisoryStream("CMD_user"), topic.AdvisoryConsumer("accounts__v1_user_signup"))
	require.NoError(t, err)
	eventually(t, 10*time.Second, func() bool {
		info, err := advisories.Info(ctx)
		return err == nil && info.Delivered.Stream >= 1 // the converter has looked at it
	}, "the converter never read the forged advisory")

	cmds, err := js.Stream(ctx, "CMD_user")
	require.NoError(t, err)
	info, err := cmds.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the live command was pulled out of its work queue")
	require.Empty(t, bustest.DeadLetters(t, b, bus.DeadLetterFilter{}), "a forged advisory made a dead letter")

	close(release)
	require.Equal(t, r.ID, <-handled)
	// Once the command is handled the advisory is dropped for good.
	eventually(t, 15*time.Second, func() bool {
		info, err := advisories.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, "the forged advisory was never settled")
	require.Empty(t, bustest.DeadLetters(t, b, bus.DeadLetterFilter{}))
	select {
	case id := <-handled:
		t.Fatalf("command %s handled twice", id)
	default:
	}
}

// Each namespace captures its own advisories: one namespace's buses never
// read (or act on) another's.
func TestAdvisoryCaptureIsPerNamespace(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	for _, ns := range []string{"prod", "staging"} {
		b := bustest.Connect(t, srv, bus.WithNamespace(ns))
		_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error { return nil })
		require.NoError(t, err)
	}
	b := bustest.Connect(t, srv)
	for _, ns := range []string{"prod", "staging"} {
		s, err := b.JetStream().Stream(ctx, topic.AdvisoryStream(ns+"_EVT_user"))
		require.NoError(t, err)
		require.Equal(t, []string{topic.AdvisorySubject(ns + "_EVT_user")}, s.CachedInfo().Config.Subjects)
	}
}
