package envelope_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
)

// Envelopes survive the real wire: nats.go's header serialization (which
// trims values and keeps header-name case) and a JetStream stream, whose
// duplicate window drops the second publish of one ID.
func TestWireRoundTripThroughJetStream(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	srv, err := embedded.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVT_user", Subjects: []string{"evt.*.user.>"}})
	require.NoError(t, err)

	plain := typical()
	awkward := &envelope.Envelope{
		ID:              envelope.NewID(),
		Source:          " /café orders ", // spaces nats.go would trim if they were not encoded
		Type:            "v1.user.renamed",
		Subject:         `Zoë "Z" Müller 100% 😀`,
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 123456789, time.UTC),
		DataContentType: "text/plain; charset=utf-8",
		CausationID:     plain.ID,
		CorrelationID:   plain.CorrelationID,
		Extensions:      map[string]string{"traceparent": plain.Extensions["traceparent"], "note": "line one, two"},
		Data:            []byte("héllo\r\nworld"),
	}
	sent := []*envelope.Envelope{plain, awkward}
	for _, e := range sent {
		m := &nats.Msg{Subject: "evt.v1.user.signedup"}
		require.NoError(t, envelope.Write(m, e))
		ack, err := js.PublishMsg(ctx, m)
		require.NoError(t, err)
		assert.False(t, ack.Duplicate)

		again := &nats.Msg{Subject: "evt.v1.user.signedup"}
		require.NoError(t, envelope.Write(again, e))
		ack, err = js.PublishMsg(ctx, again)
		require.NoError(t, err)
		assert.True(t, ack.Duplicate, "Nats-Msg-Id = source and id makes the second publish a duplicate")

		// Another producer's event with the same id is another event.
		other := *e
		other.Source = "another " + e.Source
		fromOther := &nats.Msg{Subject: "evt.v1.user.signedup"}
		require.NoError(t, envelope.Write(fromOther, &other))
		ack, err = js.PublishMsg(ctx, fromOther)
		require.NoError(t, err)
		assert.False(t, ack.Duplicate, "the same id from another source was dropped")
		_ = stream.DeleteMsg(ctx, ack.Sequence) // keep the rest of the test's stream as it was
	}

	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	batch, err := consumer.Fetch(len(sent), jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var got []*envelope.Envelope
	for msg := range batch.Messages() {
		e, err := envelope.Read(msg.Headers(), msg.Data())
		require.NoError(t, err)
		got = append(got, e)
	}
	require.NoError(t, batch.Error())
	assert.Equal(t, sent, got)

	info, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(sent)), info.State.Msgs, "duplicates were dropped by the server")
}
