package otelchoreo

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/envelope"
)

func TestExtensionNames(t *testing.T) {
	for key, want := range map[string]string{
		"traceparent":   "traceparent",
		"tracestate":    "tracestate",
		"baggage":       "baggage",
		"x-b3-traceid":  "xb3traceid",
		"X-B3-Sampled":  "xb3sampled",
		"uber-trace-id": "ubertraceid",
	} {
		assert.Equal(t, want, extensionName(key), key)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = extensionName("traceparent") }), "valid names are not copied")
}

// Trace context and baggage survive a trip through an envelope's
// extensions and its headers, as a consumer reads them.
func TestCarrierRoundTripsThroughHeaders(t *testing.T) {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6},
		TraceFlags: trace.FlagsSampled, TraceState: mustTraceState(t, "vendor=value"),
	})
	member, err := baggage.NewMember("tenant", "acme")
	require.NoError(t, err)
	bag, err := baggage.New(member)
	require.NoError(t, err)
	ctx := baggage.ContextWithBaggage(trace.ContextWithSpanContext(context.Background(), sc), bag)

	env := &envelope.Envelope{ID: "1", Source: "web", Type: "v1.user.signup"}
	prop.Inject(ctx, extensionCarrier{env})
	assert.Equal(t, "00-01020300000000000000000000000000-0405060000000000-01", env.Extensions["traceparent"])
	assert.Equal(t, "vendor=value", env.Extensions["tracestate"])
	assert.Equal(t, "tenant=acme", env.Extensions["baggage"])

	msg := &nats.Msg{Subject: "cmd.v1.user.signup"}
	require.NoError(t, envelope.Write(msg, env))
	assert.Equal(t, env.Extensions["traceparent"], msg.Header.Get("ce-traceparent"), "the CloudEvents distributed-tracing extension's header")
	got, err := envelope.Read(msg.Header, msg.Data)
	require.NoError(t, err)
	out := prop.Extract(context.Background(), extensionCarrier{got})
	assert.Equal(t, sc.TraceID(), trace.SpanContextFromContext(out).TraceID())
	assert.Equal(t, sc.SpanID(), trace.SpanContextFromContext(out).SpanID())
	assert.True(t, trace.SpanContextFromContext(out).IsRemote())
	assert.Equal(t, "acme", baggage.FromContext(out).Member("tenant").Value())
	assert.ElementsMatch(t, []string{"traceparent", "tracestate", "baggage"}, extensionCarrier{got}.Keys())
}

// Without a global propagator the context still travels, as W3C Trace
// Context. (No test in this package sets the global propagator.)
func TestGlobalPropagatorFallsBackToTraceContext(t *testing.T) {
	var g globalPropagator
	assert.Equal(t, propagation.TraceContext{}, g.get())
	assert.Equal(t, propagation.TraceContext{}, g.get(), "remembered")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = g.get() }))
}

func mustTraceState(t *testing.T, s string) trace.TraceState {
	ts, err := trace.ParseTraceState(s)
	require.NoError(t, err)
	return ts
}
