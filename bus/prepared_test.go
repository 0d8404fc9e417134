package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// A prepared message is built like Publish builds one, with the hooks run
// at Prepare and the Published hooks at Done (once), without touching the
// broker; PublishPrepared writes it later as it is, and a second write is a
// duplicate the stream drops.
func TestPrepareThenPublishPrepared(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	published := 0
	b := bustest.New(t, bus.WithNamespace("prep"), bus.WithHooks(bus.Hooks{
		Publish: func(ctx context.Context, m *bus.Outgoing) context.Context {
			m.Envelope.Extensions = map[string]string{"tenant": "acme"}
			return ctx
		},
		Published: func(context.Context, *bus.Outgoing, bus.Receipt, error) { published++ },
	}))
	p, err := b.Prepare(ctx, topic.KindEvent, signedUpEvt.Name(), signedUp{UserID: "u1"}, bus.WithSubject("u1"), bus.WithCorrelationID("req-1"))
	require.NoError(t, err)
	require.Equal(t, "acme", p.Envelope.Extensions["tenant"])
	require.Equal(t, "req-1", p.Envelope.CorrelationID)
	require.Equal(t, envelope.MsgID(b.Source(), p.ID), p.Header.Get(jetstream.MsgIDHeader))
	_, err = b.JetStream().Stream(ctx, topic.Stream("prep", topic.KindEvent, "user"))
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound, "Prepare must not provision")
	p.Done(bus.Receipt{ID: p.ID}, nil)
	p.Done(bus.Receipt{ID: p.ID}, nil)
	require.Equal(t, 1, published, "Done runs the Published hooks once")

	// The relay's view: only what it stored.
	stored := &bus.Prepared{Kind: p.Kind, Topic: p.Topic, ID: p.ID, Header: p.Header, Data: p.Data}
	r, err := b.PublishPrepared(ctx, stored)
	require.NoError(t, err)
	require.Equal(t, p.ID, r.ID)
	require.False(t, r.Duplicate)
	f, err := b.PublishPreparedAsync(ctx, stored)
	require.NoError(t, err)
	again, err := f.Wait(ctx)
	require.NoError(t, err)
	require.True(t, again.Duplicate, "the same prepared message again is a duplicate")
	require.Equal(t, r.Sequence, again.Sequence)
	require.Equal(t, 1, published, "publishing a prepared message runs no hooks")

	got := bustest.Collect(t, b, signedUpEvt)
	m := got.Wait(1)[0]
	require.Equal(t, p.ID, m.Envelope.ID)
	require.Equal(t, "u1", m.Envelope.Subject)
	require.Equal(t, "acme", m.Envelope.Extensions["tenant"])

	_, err = b.Prepare(ctx, topic.KindEvent, topic.Name{}, signedUp{})
	require.ErrorIs(t, err, topic.ErrInvalidName)
}
