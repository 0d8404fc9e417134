package cesdk_test

import (
	"context"
	"testing"
	"time"

	cejetstream "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/client"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/envelope/cesdk"
)

// Events travel between sdk-go's NATS JetStream protocol binding and
// package envelope through a real JetStream stream, both ways. sdk-go
// writes header values raw, without the percent-encoding the NATS binding
// asks for; envelope.Read takes such values as they are.
func TestSDKJetStreamBindingInterop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	srv, err := embedded.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	const streamName = "INTEROP"
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: streamName, Subjects: []string{"interop.>"}})
	require.NoError(t, err)

	t.Run("sdk-go sends, envelope reads", func(t *testing.T) {
		const subject = "interop.fromsdk"
		sender, err := cejetstream.NewSenderFromConn(nc, streamName, subject, nil)
		require.NoError(t, err)
		c, err := client.New(sender)
		require.NoError(t, err)

		ev := event.New()
		ev.SetID("sdk-1")
		ev.SetSource("urn:example:shop")
		ev.SetType("v1.order.placed")
		ev.SetSubject("sübject 100%") // the subject the issue saw dead-lettered
		ev.SetTime(time.Date(2025, 3, 14, 16, 9, 26, 123456789, time.FixedZone("CET", 3600)))
		ev.SetExtension("correlationid", "corr-1")
		ev.SetExtension("tenant", "Zoë & Co")
		ev.SetExtension("broken", "%C0%A0 and %G1")
		ev.SetExtension("count", 42)
		// The one ambiguity: a raw value that happens to be a valid
		// percent-encoding is decoded.
		ev.SetExtension("note", "50%25 off")
		require.NoError(t, ev.SetData("application/json", map[string]int{"order": 42}))
		require.True(t, protocol.IsACK(c.Send(ctx, ev)), "sdk-go publishes to the stream")

		msg := nextMessage(ctx, t, stream, subject)
		assert.Equal(t, "sübject 100%", msg.Headers().Get("ce-subject"), "sdk-go sends values raw")

		got, err := envelope.Read(msg.Headers(), msg.Data())
		require.NoError(t, err)
		assert.Equal(t, &envelope.Envelope{
			ID:              "sdk-1",
			Source:          "urn:example:shop",
			Type:            "v1.order.placed",
			Subject:         "sübject 100%",
			Time:            time.Date(2025, 3, 14, 15, 9, 26, 123456789, time.UTC),
			DataContentType: "application/json",
			CorrelationID:   "corr-1",
			Extensions: map[string]string{
				"tenant": "Zoë & Co",
				"broken": "%C0%A0 and %G1",
				"count":  "42",
				"note":   "50% off",
			},
			Data: []byte(`{"order":42}`),
		}, got)

		// What was read is written back percent-encoded, and reads the same.
		again := nats.NewMsg(subject)
		require.NoError(t, envelope.Write(again, got))
		assert.Equal(t, "s%C3%BCbject%20100%25", again.Header.Get("ce-subject"))
		back, err := envelope.Read(again.Header, again.Data)
		require.NoError(t, err)
		assert.Equal(t, got, back)
	})

	t.Run("envelope writes, sdk-go receives", func(t *testing.T) {
		const subject = "interop.fromchoreo"
		in := typical()
		in.Subject = "Zoë Müller"
		m := nats.NewMsg(subject)
		require.NoError(t, envelope.Write(m, in))
		_, err := js.PublishMsg(ctx, m)
		require.NoError(t, err)

		consumer, err := cejetstream.NewConsumerFromConn(nc, streamName, subject, nil, nil)
		require.NoError(t, err)
		c, err := client.New(consumer)
		require.NoError(t, err)
		received := make(chan event.Event, 1)
		rctx, stop := context.WithCancel(ctx)
		stopped := make(chan error, 1)
		go func() {
			stopped <- c.StartReceiver(rctx, func(ev event.Event) {
				select {
				case received <- ev:
				default: // a redelivery; the first is the one checked
				}
			})
		}()
		var ev event.Event
		select {
		case ev = <-received:
		case <-ctx.Done():
			t.Fatal("sdk-go received nothing")
		}
		stop()
		require.NoError(t, <-stopped)

		// sdk-go does not percent-decode: values that needed encoding
		// reach it encoded. Everything else arrives as sent.
		assert.Equal(t, "Zo%C3%AB%20M%C3%BCller", ev.Subject())
		got, err := cesdk.FromEvent(ev)
		require.NoError(t, err)
		got.Subject = in.Subject
		assert.Equal(t, in, got)
	})
}

// nextMessage returns the next message stored on subject.
func nextMessage(ctx context.Context, t *testing.T, stream jetstream.Stream, subject string) jetstream.Msg {
	t.Helper()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(t, err)
	msg, err := cons.Next(jetstream.FetchMaxWait(30 * time.Second))
	require.NoError(t, err)
	return msg
}
