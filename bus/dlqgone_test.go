package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// Topic streams deleted behind the bus's back are provisioned again on the
// next publish (ErrNoStreamResponse -> forget -> ensure). The dead-letter
// stream is not: it is cached as ready for the life of the bus, so after an
// operator deletes it (to purge old dead letters, say) nothing can be
// dead-lettered and DeadLetters fails until every process restarts.
func TestDeletedDeadLetterStreamIsProvisionedAgain(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(context.Context, *bus.Message[signedUp]) error {
		return bus.Permanent(errors.New("broken"))
	}, bus.WithBackoff(100*time.Millisecond))
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1})
	require.NoError(t, err)
	waitDeadLetters(t, b, 1)

	require.NoError(t, b.JetStream().DeleteStream(ctx, "DLQ")) // an operator purges the dead letters

	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 2})
	require.NoError(t, err)
	waitDeadLetters(t, b, 1)
}
