package bus_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// upperJSON is a codec of its own: JSON under another content type, so the
// test can tell it was used on both sides.
type upperJSON struct{}

func (upperJSON) ContentType() string                { return "application/x-test+json" }
func (upperJSON) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (upperJSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func TestCustomCodecEncodesAndDecodes(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithCodec(upperJSON{}))
	ctx := ctxT(t)
	got := make(chan *bus.Message[signedUp], 1)
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(_ context.Context, m *bus.Message[signedUp]) error {
		got <- m
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{UserID: "u7", N: 7})
	require.NoError(t, err)
	select {
	case m := <-got:
		require.Equal(t, "application/x-test+json", m.Envelope.DataContentType)
		require.Equal(t, signedUp{UserID: "u7", N: 7}, m.Data)
	case <-time.After(10 * time.Second):
		t.Fatal("message not handled")
	}
}

// panicky panics while decoding one particular payload.
type panicky struct{ N int }

func (p *panicky) UnmarshalJSON(b []byte) error {
	if strings.Contains(string(b), "boom") {
		panic("decoder exploded")
	}
	p.N = len(b)
	return nil
}

// A payload whose decoding panics fails that message, not the process: it
// is dead-lettered with a reason that says so, and later messages flow.
func TestPanicWhileDecodingDeadLettersTheMessage(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	ctx := ctxT(t)
	evt := signedUpEvtFor[panicky]()
	handled := make(chan int, 4)
	_, err := bus.Subscribe(ctx, b, evt, "g", func(_ context.Context, m *bus.Message[panicky]) error {
		handled <- m.Data.N
		return nil
	})
	require.NoError(t, err)
	_, err = b.JetStream().PublishMsg(ctx, rawCloudEvent(t, "evt.v1.user.signedup", `"boom"`))
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, evt, panicky{N: 1})
	require.NoError(t, err)
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatal("the message after the panicking one was not handled")
	}
	dls := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{Group: "g"}, 1)
	require.Contains(t, dls[0].Reason, "panic: decoder exploded")
	require.Contains(t, dls[0].Reason, "cannot decode")
}
