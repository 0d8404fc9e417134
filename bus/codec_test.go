package bus_test

import (
	"context"
	"encoding/json"
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
