package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// Redeliver trusts the DeadLetter it is given: it publishes on the dead
// letter's subject and then deletes the message with the dead letter's
// sequence from its own bus's dead-letter stream. A dead letter listed by a
// bus of another namespace (an ops tool holding a staging and a prod bus)
// makes it delete an unrelated dead letter of its own namespace, which is
// then gone for good.
func TestRedeliverOfForeignDeadLetterKeepsOwnDeadLetters(t *testing.T) {
	t.Parallel()
	srv := bustest.NewServer(t)
	ctx := ctxT(t)
	buses := map[string]*bus.Bus{}
	for _, ns := range []string{"staging", "prod"} {
		b := bustest.Connect(t, srv, bus.WithSource("svc"), bus.WithNamespace(ns))
		buses[ns] = b
		_, err := bus.Subscribe(b, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error {
			return bus.Permanent(errors.New("broken"))
		})
		require.NoError(t, err)
		_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{})
		require.NoError(t, err)
	}
	staging := waitDeadLetters(t, buses["staging"], 1)
	waitDeadLetters(t, buses["prod"], 1)

	err := buses["prod"].Redeliver(ctx, staging[0])
	if err != nil {
		return // refusing a foreign dead letter is fine
	}
	left, err := buses["prod"].DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, left, 1, "prod's own dead letter was deleted by redelivering a staging dead letter")
}

// Consumers made before redelivery moved to a header had two filter
// subjects (the topic and "<topic>._redeliver.<consumer>"). Subscribing
// with the same group updates such a consumer to the single filter, keeps
// its position, and first moves redelivered messages still waiting on the
// old subject to the topic, for that group only.
func TestSubscribeUpdatesTwoFilterConsumer(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1}) // provisions EVT_user
	require.NoError(t, err)
	js := b.JetStream()
	const durable = "legacy__v1_user_signedup"
	_, err = js.CreateConsumer(ctx, "EVT_user", jetstream.ConsumerConfig{
		Durable:        durable,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     5,
		MaxAckPending:  1000,
		FilterSubjects: []string{"evt.v1.user.signedup", "evt.v1.user.signedup._redeliver." + durable},
	})
	require.NoError(t, err)
	// A dead letter the old Redeliver put back, not yet handled.
	legacySubject := "evt.v1.user.signedup._redeliver." + durable
	old := rawCloudEvent(t, legacySubject, `{"n":99}`)
	old.Header.Set(jetstream.MsgIDHeader, "redeliver:DLQ:7")
	_, err = js.PublishMsg(ctx, old)
	require.NoError(t, err)

	others := newCounter()
	_, err = bus.Subscribe(b, signedUpEvt, "other", func(_ context.Context, m *bus.Message[signedUp]) error {
		others.add(m.Data.N, "other")
		return nil
	})
	require.NoError(t, err)
	got := newCounter()
	_, err = bus.Subscribe(b, signedUpEvt, "legacy", func(_ context.Context, m *bus.Message[signedUp]) error {
		got.add(m.Data.N, "legacy")
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 2})
	require.NoError(t, err)
	got.waitDistinct(t, 3, 10*time.Second)
	require.Equal(t, 1, got.seen[99], "the old redelivery is handled once by its group")
	others.waitDistinct(t, 2, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	require.Zero(t, others.seen[99], "another group handled a redelivery meant for legacy")
	s, err := js.Stream(ctx, "EVT_user")
	require.NoError(t, err)
	_, err = s.GetLastMsgForSubject(ctx, legacySubject)
	require.ErrorIs(t, err, jetstream.ErrMsgNotFound, "the old redelivery subject must be empty")

	c, err := js.Consumer(ctx, "EVT_user", durable)
	require.NoError(t, err)
	cfg := c.CachedInfo().Config
	require.Equal(t, "evt.v1.user.signedup", cfg.FilterSubject)
	require.Empty(t, cfg.FilterSubjects)
}
