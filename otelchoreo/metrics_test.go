package otelchoreo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/otelchoreo"
)

var (
	dest      = attribute.Key("messaging.destination.name")
	group     = attribute.Key("messaging.consumer.group.name")
	opName    = attribute.Key("messaging.operation.name")
	errType   = attribute.Key("error.type")
	settled   = attribute.Key("choreo.settlement")
	signupDst = dest.String("v1.user.signup")
)

// A run with a known mix of outcomes: three signups succeed at once, one
// fails once, one panics once, one is dead-lettered; one send is refused
// before it leaves (a malformed extension) and two events go out
// asynchronously. Every counter says exactly that.
func TestMetricsCountEveryOutcome(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	b := bustest.New(t, bus.WithSource("accounts"),
		otelchoreo.Instrument(otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp)))
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(_ context.Context, m *bus.Message[signupForm]) error {
		switch {
		case m.Data.Email == "flaky" && m.Attempt == 1:
			return errors.New("try again")
		case m.Data.Email == "panicky" && m.Attempt == 1:
			panic("boom")
		case m.Data.Email == "invalid":
			return bus.Permanent(errors.New("invalid email address"))
		}
		return nil
	}, bus.WithBackoff(10*time.Millisecond))
	require.NoError(t, err)

	for _, email := range []string{"ok1", "ok2", "ok3", "flaky", "panicky", "invalid"} {
		_, err := bus.Send(ctx, b, signupCmd, signupForm{Email: email})
		require.NoError(t, err)
	}
	_, err = bus.Send(ctx, b, signupCmd, signupForm{}, bus.WithExtension("Not-Valid", "x"))
	require.Error(t, err)
	for range 2 {
		_, err := bus.PublishAsync(ctx, b, signedUpEvt, signedUp{})
		require.NoError(t, err)
	}
	require.NoError(t, b.Flush(ctx))

	// Wait until every instrument has recorded everything (a collection
	// reads them one after the other while hooks still run), then check
	// that nothing more was recorded.
	const settlements = 8 // six first attempts and two retries
	done := func(m map[string]metricdata.Metrics) bool {
		return sum(t, m["messaging.client.sent.messages"]) >= 9 &&
			histogramCount(t, m["messaging.client.operation.duration"]) >= 9 &&
			sum(t, m["messaging.client.consumed.messages"]) >= settlements &&
			histogramCount(t, m["messaging.process.duration"]) >= settlements &&
			sum(t, m["choreo.messages.settled"]) >= settlements
	}
	deadline := time.Now().Add(30 * time.Second)
	m := tel.metrics(t)
	for !done(m) {
		require.True(t, time.Now().Before(deadline), "settlements recorded: %d of %d", sum(t, m["choreo.messages.settled"]), settlements)
		time.Sleep(10 * time.Millisecond)
		m = tel.metrics(t)
	}

	sent := m["messaging.client.sent.messages"]
	assert.Equal(t, int64(7), sum(t, sent, signupDst, opName.String("send")), "every send")
	assert.Equal(t, int64(1), sum(t, sent, signupDst, errType.String("malformed")), "of which one was refused")
	assert.Equal(t, int64(2), sum(t, sent, dest.String("v1.user.signedup"), opName.String("publish")), "asynchronous publishes")
	assert.Equal(t, uint64(9), histogramCount(t, m["messaging.client.operation.duration"]))

	assert.Equal(t, int64(8), sum(t, m["messaging.client.consumed.messages"], signupDst, group.String("accounts")))
	outcomes := m["choreo.messages.settled"]
	assert.Equal(t, int64(5), sum(t, outcomes, settled.String("ack")))
	assert.Equal(t, int64(2), sum(t, outcomes, settled.String("retry")))
	assert.Equal(t, int64(1), sum(t, outcomes, settled.String("retry"), errType.String("panic")))
	assert.Equal(t, int64(1), sum(t, outcomes, settled.String("retry"), errType.String("_OTHER")))
	assert.Equal(t, int64(1), sum(t, outcomes, settled.String("dead_letter"), errType.String("permanent")))
	assert.Equal(t, int64(settlements), sum(t, outcomes, signupDst, group.String("accounts")))
	assert.Equal(t, uint64(8), histogramCount(t, m["messaging.process.duration"], signupDst))
	assert.Equal(t, uint64(1), histogramCount(t, m["messaging.process.duration"], errType.String("permanent")))
}

// The lag gauge goes up while the group's consumer is held (its one worker
// busy, nothing else taken) and back to zero when it catches up.
func TestLagFollowsTheConsumer(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	b := bustest.New(t, bus.WithSource("accounts"), otelchoreo.Instrument(
		otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp), otelchoreo.WithLagInterval(0)))
	hold := make(chan struct{})
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(ctx context.Context, _ *bus.Message[signupForm]) error {
		select {
		case <-hold:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, bus.WithConcurrency(1), bus.WithPrefetch(1), bus.WithHandlerTimeout(time.Minute), bus.WithAckWait(time.Minute))
	require.NoError(t, err)

	lag := func() (pending, ackPending int64) {
		m := tel.metrics(t)
		match := []attribute.KeyValue{signupDst, group.String("accounts"), attribute.String("messaging.destination.subscription.name", "accounts__v1_user_signup")}
		pending, ok1 := gauge(m["choreo.consumer.pending"], match...)
		ackPending, ok2 := gauge(m["choreo.consumer.ack_pending"], match...)
		require.True(t, ok1 && ok2, "both gauges report the consumer: %+v", m)
		return pending, ackPending
	}
	waitLag := func(what string, cond func(pending, ackPending int64) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			p, a := lag()
			if cond(p, a) {
				return
			}
			require.True(t, time.Now().Before(deadline), "%s: pending %d, ack pending %d", what, p, a)
			time.Sleep(10 * time.Millisecond)
		}
	}
	p, a := lag()
	assert.Zero(t, p+a, "nothing sent yet")

	const n = 10
	for range n {
		_, err := bus.Send(ctx, b, signupCmd, signupForm{})
		require.NoError(t, err)
	}
	// All ten are unacknowledged, and most still wait on the server: only
	// the one in the handler and the few the client prefetched have left.
	waitLag("lag while the consumer is held", func(p, a int64) bool { return p+a == n && p >= n/2 })
	close(hold)
	waitLag("lag once it caught up", func(p, a int64) bool { return p == 0 && a == 0 })
}

// Between reads the gauges report the last values read, and a negative
// interval turns them off.
func TestLagIntervalBoundsServerReads(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	off := newTelemetry(t, sdktrace.AlwaysSample())
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv, bus.WithSource("accounts"), otelchoreo.Instrument(
		otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp), otelchoreo.WithLagInterval(time.Hour)))
	_ = bustest.Connect(t, srv, bus.WithSource("other"), otelchoreo.Instrument(
		otelchoreo.WithTracerProvider(off.tp), otelchoreo.WithMeterProvider(off.mp), otelchoreo.WithLagInterval(-1)))
	hold := make(chan struct{})
	defer close(hold)
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(context.Context, *bus.Message[signupForm]) error {
		<-hold
		return nil
	}, bus.WithConcurrency(1), bus.WithPrefetch(1))
	require.NoError(t, err)

	pending, ok := gauge(tel.metrics(t)["choreo.consumer.pending"], signupDst)
	require.True(t, ok)
	require.Zero(t, pending)
	for range 5 {
		_, err := bus.Send(ctx, b, signupCmd, signupForm{})
		require.NoError(t, err)
	}
	pending, ok = gauge(tel.metrics(t)["choreo.consumer.pending"], signupDst)
	require.True(t, ok)
	assert.Zero(t, pending, "within the interval the first read stands")
	_, ok = off.metrics(t)["choreo.consumer.pending"]
	assert.False(t, ok, "no lag gauges with a negative interval")
}
