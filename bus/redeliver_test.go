package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
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
		_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error {
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
	left, err := allDeadLetters(ctx, buses["prod"])
	require.NoError(t, err)
	require.Len(t, left, 1, "prod's own dead letter was deleted by redelivering a staging dead letter")
}

// A Choreo-Redeliver-To header is trusted only when it names another
// existing consumer of the topic: a command, or an event naming a consumer
// that does not exist, is handled as usual instead of acknowledged unseen.
func TestRedeliverToHeaderFromAnyPublisherDropsNothing(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	ctx := ctxT(t)
	commands, events := newCounter(), newCounter()
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signup]) error {
		commands.add(m.Data.N, "accounts")
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "email", func(_ context.Context, m *bus.Message[signedUp]) error {
		events.add(m.Data.N, "email")
		return nil
	})
	require.NoError(t, err)
	for i, to := range []string{"ghost__v1_user_signup", "nonsense", ""} {
		m := rawCloudEvent(t, "cmd.v1.user.signup", fmt.Sprintf(`{"n":%d}`, i))
		m.Header.Set(topic.HeaderRedeliverTo, to)
		_, err = b.JetStream().PublishMsg(ctx, m)
		require.NoError(t, err)
	}
	for i, to := range []string{"ghost__v1_user_signedup", "accounts__v1_user_signup", "x"} {
		m := rawCloudEvent(t, "evt.v1.user.signedup", fmt.Sprintf(`{"n":%d}`, i))
		m.Header.Set(topic.HeaderRedeliverTo, to)
		_, err = b.JetStream().PublishMsg(ctx, m)
		require.NoError(t, err)
	}
	commands.waitDistinct(t, 3, 10*time.Second)
	events.waitDistinct(t, 3, 10*time.Second)
}
