package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// A message whose headers are near the server's 64 KiB header limit, or
// whose body is near max_payload, cannot be parked whole once the
// dead-letter headers are added. It is parked reduced, saying what was cut
// and where the original is, instead of being retried forever.
func TestTooLargeToParkWholeIsParkedReduced(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	ctx := ctxT(t)
	refuse := func(context.Context, *bus.Message[signup]) error { return bus.Permanent(errors.New("no")) }
	_, err := bus.HandleCommand(ctx, b, signupCmd, refuse)
	require.NoError(t, err)
	_, err = bus.Subscribe(ctx, b, signedUpEvt, "email", func(context.Context, *bus.Message[signedUp]) error {
		return bus.Permanent(errors.New("no"))
	})
	require.NoError(t, err)
	maxPayload := int(b.Conn().MaxPayload())

	// Headers within 60 bytes of the server's 65,535-byte header limit:
	// the dead-letter headers cannot be added.
	bigHeader := rawCloudEvent(t, "cmd.v1.user.signup", `{"n":1}`)
	used := len("NATS/1.0\r\n\r\n") + len("X-Trace-Baggage: \r\n")
	for k, vs := range bigHeader.Header {
		used += len(k) + len(": \r\n") + len(vs[0])
	}
	bigHeader.Header.Set("X-Trace-Baggage", strings.Repeat("b", 65535-used-60))
	_, err = b.JetStream().PublishMsg(ctx, bigHeader)
	require.NoError(t, err)
	// A body near max_payload, on an event.
	bigBody := rawCloudEvent(t, "evt.v1.user.signedup", `{"n":2}`)
	hdr := 0
	for k, vs := range bigBody.Header {
		hdr += len(k) + len(": \r\n") + len(vs[0])
	}
	bigBody = rawCloudEvent(t, "evt.v1.user.signedup", fmt.Sprintf(`{"n":2,"pad":%q}`, strings.Repeat("p", maxPayload-hdr-150)))
	_, err = b.JetStream().PublishMsg(ctx, bigBody)
	require.NoError(t, err)

	dls := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{}, 2)
	byConsumer := map[string]bus.DeadLetter{}
	for _, dl := range dls {
		byConsumer[dl.Consumer] = dl
	}
	cmd := byConsumer["accounts__v1_user_signup"]
	require.NotNil(t, cmd.Envelope, "the CloudEvents attributes survive")
	require.True(t, cmd.Header.Get("X-Trace-Baggage") == "", "the huge header is dropped")
	require.Contains(t, cmd.Reduced, "headers dropped")
	require.Contains(t, cmd.Reduced, "stream CMD_user at sequence")
	require.JSONEq(t, `{"n":1}`, string(cmd.Data), "the body fits and is kept whole")
	require.Contains(t, cmd.Reason, "no")

	evt := byConsumer["email__v1_user_signedup"]
	require.Contains(t, evt.Reduced, "body cut from")
	require.Less(t, len(evt.Data), len(bigBody.Data))
	// The event's original is still in its stream, where the note says.
	s, err := b.JetStream().Stream(ctx, "EVT_user")
	require.NoError(t, err)
	orig, err := s.GetMsg(ctx, evt.StreamSequence)
	require.NoError(t, err)
	require.True(t, string(bigBody.Data) == string(orig.Data), "the original event is intact")
	// Redelivering the cut copy would deliver a broken message.
	require.ErrorIs(t, b.Redeliver(ctx, evt), bus.ErrInvalidOption)
}
