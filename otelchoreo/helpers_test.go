package otelchoreo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/topic"
)

type signupForm struct {
	Email string `json:"email"`
}

type signedUp struct {
	Email string `json:"email"`
}

type welcomeSent struct {
	Email string `json:"email"`
}

var (
	signupCmd      = topic.MustCommand[signupForm]("v1.user.signup")
	signedUpEvt    = topic.MustEvent[signedUp]("v1.user.signedup")
	welcomeSentEvt = topic.MustEvent[welcomeSent]("v1.email.welcome.sent")
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// telemetry is an OpenTelemetry SDK with in-memory exporters: every span
// ended is kept, and metrics are read on demand.
type telemetry struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T, sampler sdktrace.Sampler) *telemetry {
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans), sdktrace.WithSampler(sampler))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// waitSpans waits until cond holds for the spans ended so far, and returns
// them.
func (tel *telemetry) waitSpans(t *testing.T, what string, cond func(tracetest.SpanStubs) bool) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		spans := tel.spans.GetSpans()
		if cond(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s; spans so far:\n%s", what, describe(spans))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// named returns the spans called name.
func named(spans tracetest.SpanStubs, name string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// count returns a condition: n spans called name have ended.
func count(name string, n int) func(tracetest.SpanStubs) bool {
	return func(spans tracetest.SpanStubs) bool { return len(named(spans, name)) >= n }
}

// only returns the one span called name whose attribute key is value.
func only(t *testing.T, spans tracetest.SpanStubs, name string, key attribute.Key, value string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range named(spans, name) {
		if v, ok := attr(s, key); ok && v.Emit() == value {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans %q with %s=%s in:\n%s", name, key, value, describe(spans))
	return found[0]
}

func attr(s tracetest.SpanStub, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// attrs returns the span's attributes by key, as text.
func attrs(s tracetest.SpanStub) map[string]string {
	m := make(map[string]string, len(s.Attributes))
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// linksTo reports whether s links to the span sc.
func linksTo(s tracetest.SpanStub, sc trace.SpanContext) bool {
	for _, l := range s.Links {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

func describe(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %s parent=%s kind=%s status=%s %v\n", s.SpanContext.SpanID(), s.Name, s.Parent.SpanID(), s.SpanKind, s.Status.Code, attrs(s))
	}
	return b.String()
}

// metrics collects every metric now, by name.
func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sum adds up an integer counter's points whose attributes include every
// pair of match.
func sum(t *testing.T, m metricdata.Metrics, match ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a %T, not an int64 sum", m.Name, m.Data)
	var total int64
	for _, p := range s.DataPoints {
		if has(p.Attributes, match) {
			total += p.Value
		}
	}
	return total
}

// histogramCount adds up the counts of a histogram's points whose
// attributes include every pair of match.
func histogramCount(t *testing.T, m metricdata.Metrics, match ...attribute.KeyValue) uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a %T, not a float64 histogram", m.Name, m.Data)
	var total uint64
	for _, p := range h.DataPoints {
		if has(p.Attributes, match) {
			total += p.Count
		}
	}
	return total
}

// gauge returns an int64 gauge's value for the point whose attributes
// include match, and whether there is one.
func gauge(m metricdata.Metrics, match ...attribute.KeyValue) (int64, bool) {
	g, ok := m.Data.(metricdata.Gauge[int64])
	if !ok {
		return 0, false
	}
	for _, p := range g.DataPoints {
		if has(p.Attributes, match) {
			return p.Value, true
		}
	}
	return 0, false
}

func has(set attribute.Set, match []attribute.KeyValue) bool {
	for _, kv := range match {
		if v, ok := set.Value(kv.Key); !ok || v.Emit() != kv.Value.Emit() {
			return false
		}
	}
	return true
}
