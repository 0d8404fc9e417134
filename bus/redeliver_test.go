package bus_test

import (
	"context"
	"errors"
	"testing"

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
	left, err := buses["prod"].DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, left, 1, "prod's own dead letter was deleted by redelivering a staging dead letter")
}
