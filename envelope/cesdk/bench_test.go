package cesdk_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	cejetstream "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/envelope/cesdk"
)

// The SDK benchmarks do what envelope's BenchmarkWrite and BenchmarkRead do
// for the same event, through sdk-go's NATS JetStream protocol binding:
// its WriteMsg (what its Sender runs before publishing) and its Message
// with binding.ToEvent (what its receiver hands a client), plus Validate,
// since envelope.Read validates. The binding writes values raw, without
// percent-encoding, and sets no Nats-Msg-Id, so it does a little less work.

const benchSubject = "evt.v1.user.signedup"

// sink keeps the compiler from optimizing a benchmark's result away.
var sink *nats.Msg

// typical is the event of envelope's benchmarks: what choreo publishes for
// an event topic.
func typical() *envelope.Envelope {
	return &envelope.Envelope{
		ID:              "0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e",
		Source:          "signup-service",
		Type:            "v1.user.signedup",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		DataContentType: "application/json",
		CorrelationID:   "0190f8f0-7c4d-7000-8000-000000000001",
		Extensions:      map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		Data:            []byte(`{"user_id":"u-1842","email":"ada@example.com","plan":"pro","referrer":"newsletter","ok":true}`),
	}
}

// sdkWrite encodes ev onto a NATS message as sdk-go's JetStream Sender does.
func sdkWrite(ctx context.Context, e *envelope.Envelope) (*nats.Msg, error) {
	ev, err := cesdk.ToEvent(e)
	if err != nil {
		return nil, err
	}
	var data bytes.Buffer
	h, err := cejetstream.WriteMsg(ctx, binding.ToMessage(&ev), &data)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: benchSubject, Header: h, Data: data.Bytes()}, nil
}

func BenchmarkSDKBindingWrite(b *testing.B) {
	ev, err := cesdk.ToEvent(typical())
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		data := new(bytes.Buffer)
		h, err := cejetstream.WriteMsg(ctx, binding.ToMessage(&ev), data)
		if err != nil {
			b.Fatal(err)
		}
		sink = &nats.Msg{Subject: benchSubject, Header: h, Data: data.Bytes()}
	}
}

func BenchmarkSDKBindingRead(b *testing.B) {
	ctx := context.Background()
	m, err := sdkWrite(ctx, typical())
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		got, err := binding.ToEvent(ctx, cejetstream.NewMessage(m))
		if err != nil {
			b.Fatal(err)
		}
		if err := got.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmarks compare like with like only if both sides carry the same
// event: what the SDK binding writes, envelope.Read reads as the original,
// and what envelope.Write writes, the SDK binding reads as the original.
func TestSDKBindingCarriesTheBenchmarkEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := typical()

	m, err := sdkWrite(ctx, in)
	require.NoError(t, err)
	got, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	assert.Equal(t, in, got)

	ours := nats.NewMsg(benchSubject)
	require.NoError(t, envelope.Write(ours, in))
	ev, err := binding.ToEvent(ctx, cejetstream.NewMessage(ours))
	require.NoError(t, err)
	back, err := cesdk.FromEvent(*ev)
	require.NoError(t, err)
	assert.Equal(t, in, back)
}
