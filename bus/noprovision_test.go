package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

type noProvEvent struct{ N int }

var noProvTopic = topic.MustEvent[noProvEvent]("v1.gadget.made")

func TestWithoutProvisioningNamesWhatIsMissing(t *testing.T) {
	srv := bustest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := bustest.Connect(t, srv, bus.WithSource("gadgets"), bus.WithoutProvisioning(), bus.WithNamespace("prod"))
	_, err := bus.Subscribe(ctx, b, noProvTopic, "", func(context.Context, *bus.Message[noProvEvent]) error { return nil })
	require.ErrorIs(t, err, bus.ErrNotProvisioned)
	for _, missing := range []string{
		"stream prod_EVT_gadget", "consumer gadgets__v1_gadget_made on prod_EVT_gadget", "stream prod_DLQ",
		"stream prod_EVT_gadget_MAXDELIVERIES", "consumer gadgets__v1_gadget_made on prod_EVT_gadget_MAXDELIVERIES",
		"choreo provision -catalog <your catalog.yaml> -namespace prod",
	} {
		assert.Contains(t, err.Error(), missing)
	}
	_, err = bus.Publish(ctx, b, noProvTopic, noProvEvent{N: 1})
	require.ErrorIs(t, err, bus.ErrNotProvisioned)
	assert.Contains(t, err.Error(), "stream prod_EVT_gadget missing")

	names := b.JetStream().StreamNames(ctx)
	for range names.Name() {
		t.Fatal("a bus without provisioning rights created a stream")
	}
	require.NoError(t, names.Err())
}

func TestProvisionThenRunWithoutProvisioning(t *testing.T) {
	srv := bustest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	operator := bustest.Connect(t, srv, bus.WithSource("operator"))
	req := bus.Requirement{Kind: topic.KindEvent, Topic: noProvTopic.Name(), Group: "gadgets", Options: []bus.SubscribeOption{bus.WithMaxDeliver(3)}}

	plan, err := operator.Provision(ctx, req, true)
	require.NoError(t, err)
	require.Len(t, plan, 5)
	for _, ch := range plan {
		assert.Equal(t, bus.ActionCreated, ch.Action, ch.String())
	}
	_, err = operator.JetStream().Stream(ctx, "EVT_gadget")
	require.Error(t, err, "a dry run creates nothing")

	done, err := operator.Provision(ctx, req, false)
	require.NoError(t, err)
	assert.Equal(t, plan, done, "the dry run announced what the run did")
	assert.Equal(t, "create consumer gadgets__v1_gadget_made on EVT_gadget", done[1].String())

	again, err := operator.Provision(ctx, req, false)
	require.NoError(t, err)
	for _, ch := range again {
		assert.Equal(t, bus.ActionUnchanged, ch.Action, ch.String())
	}

	svc := bustest.Connect(t, srv, bus.WithSource("gadgets"), bus.WithoutProvisioning())
	got := make(chan int, 1)
	_, err = bus.Subscribe(ctx, svc, noProvTopic, "", func(_ context.Context, m *bus.Message[noProvEvent]) error {
		if m.Data.N == 2 {
			return bus.Permanent(assert.AnError)
		}
		got <- m.Data.N
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Publish(ctx, svc, noProvTopic, noProvEvent{N: 1})
	require.NoError(t, err)
	select {
	case n := <-got:
		assert.Equal(t, 1, n)
	case <-ctx.Done():
		t.Fatal("the event was not handled")
	}
	_, err = bus.Publish(ctx, svc, noProvTopic, noProvEvent{N: 2})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for dl, err := range svc.DeadLetters(ctx, bus.DeadLetterFilter{Consumer: "gadgets__v1_gadget_made"}) {
			return err == nil && strings.Contains(dl.Reason, assert.AnError.Error())
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "the dead letter was parked in the provisioned stream")
}

// A bus without provisioning rights never turns on the stream settings that
// delayed messages and batches need: it names the setting and who can turn
// it on, and leaves the stream as the operator made it.
func TestWithoutProvisioningLeavesStreamSettingsToTheOperator(t *testing.T) {
	srv := bustest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	operator := bustest.Connect(t, srv, bus.WithSource("operator"))
	_, err := operator.Provision(ctx, bus.Requirement{Kind: topic.KindEvent, Topic: noProvTopic.Name(), Group: "gadgets"}, false)
	require.NoError(t, err)

	svc := bustest.Connect(t, srv, bus.WithSource("gadgets"), bus.WithoutProvisioning())
	_, err = bus.Publish(ctx, svc, noProvTopic, noProvEvent{N: 1}, bus.WithDelay(time.Hour))
	require.ErrorIs(t, err, bus.ErrNotProvisioned)
	assert.Contains(t, err.Error(), "allow_msg_schedules on stream EVT_gadget")
	_, err = bus.PublishBatch(ctx, svc, noProvTopic)
	require.ErrorIs(t, err, bus.ErrNotProvisioned)
	assert.Contains(t, err.Error(), "allow_batched on stream EVT_gadget")

	s, err := operator.JetStream().Stream(ctx, "EVT_gadget")
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	assert.False(t, cfg.AllowMsgSchedules, "the service turned schedules on")
	assert.False(t, cfg.AllowBatchPublish, "the service turned batches on")
	assert.Zero(t, s.CachedInfo().State.Msgs, "nothing was stored")

	// Once the operator has turned both on, the same service uses them.
	cfg.AllowMsgSchedules, cfg.AllowBatchPublish = true, true
	_, err = operator.JetStream().UpdateStream(ctx, cfg)
	require.NoError(t, err)
	_, err = bus.Publish(ctx, svc, noProvTopic, noProvEvent{N: 2}, bus.WithDelay(time.Hour))
	require.NoError(t, err)
	batch, err := bus.PublishBatch(ctx, svc, noProvTopic)
	require.NoError(t, err)
	_, err = batch.Add(ctx, noProvEvent{N: 3})
	require.NoError(t, err)
	_, err = batch.Commit(ctx)
	require.NoError(t, err)
}
