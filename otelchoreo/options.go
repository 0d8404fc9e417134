package otelchoreo

import (
	"reflect"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Option configures Instrument.
type Option func(*config)

type config struct {
	tracerProvider   trace.TracerProvider
	meterProvider    metric.MeterProvider
	propagator       propagation.TextMapPropagator
	newTracePerEvent bool
	lagInterval      time.Duration
}

// defaultLagInterval is how often, at most, the lag gauges read consumer
// info from the server: a few times per typical scrape interval would be
// wasted round trips, once per scrape is what a dashboard needs.
const defaultLagInterval = 10 * time.Second

func newConfig(opts []Option) config {
	c := config{lagInterval: defaultLagInterval}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	return c
}

// WithTracerProvider sets where spans go. Default (and for nil): the global
// provider, otel.GetTracerProvider, which discards spans until the program
// sets one with otel.SetTracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithMeterProvider sets where metrics go. Default (and for nil): the
// global provider, otel.GetMeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProvider = mp }
}

// WithPropagators sets how trace context (and baggage, if p carries it)
// travels in messages, as CloudEvents extension attributes. Default (and
// for nil): the global propagator, otel.GetTextMapPropagator, read at each
// message; while the program has set none (the global one is then a no-op
// that carries nothing), W3C Trace Context, so that traces connect across
// services without further setup.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// WithNewTracePerEvent makes the consumer span of each event start a trace
// of its own, linked to the publisher's span, instead of continuing the
// publisher's trace. Commands always continue their sender's trace.
//
// This is the choice NServiceBus documents: one event fans out to many
// unrelated consumers, and a publisher's trace that contains all of them
// (for as long as new subscriber groups keep replaying the stream) can grow
// without bound. It suits systems where events are broadcast widely; the
// default, one trace per choreography, suits chains of services that
// together carry out one request, such as a signup.
func WithNewTracePerEvent() Option {
	return func(c *config) { c.newTracePerEvent = true }
}

// WithLagInterval sets how often, at most, the lag gauges
// (choreo.consumer.pending and choreo.consumer.ack_pending) read the
// consumer info of the bus's subscriptions from the server: one request
// per subscription, made when a metric reader collects and the last read is
// older than d; collections in between report the values last read. 0
// reads on every collection; a negative d turns the lag gauges off.
// Default: 10 seconds.
func WithLagInterval(d time.Duration) Option {
	return func(c *config) { c.lagInterval = d }
}

// globalPropagator resolves the global propagator at each message, falling
// back to W3C Trace Context while the global one carries nothing. The
// decision is remembered per global propagator, so a message pays one
// atomic load and one comparison.
type globalPropagator struct {
	last atomic.Pointer[resolvedPropagator]
}

// resolvedPropagator is the decision for one global propagator; global is
// always of a comparable type, so comparing it with any interface value is
// safe (values of different dynamic types compare unequal without
// panicking).
type resolvedPropagator struct {
	global, effective propagation.TextMapPropagator
}

func (g *globalPropagator) get() propagation.TextMapPropagator {
	p := otel.GetTextMapPropagator()
	if r := g.last.Load(); r != nil && r.global == p {
		return r.effective
	}
	if !reflect.TypeOf(p).Comparable() {
		// Set by the program (a composite of several propagators is a
		// slice): the placeholder that carries nothing is a pointer.
		return p
	}
	r := &resolvedPropagator{global: p, effective: p}
	if len(p.Fields()) == 0 {
		r.effective = propagation.TraceContext{}
	}
	g.last.Store(r)
	return r.effective
}
