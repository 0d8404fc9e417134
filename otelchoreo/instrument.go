package otelchoreo

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/messagingconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// ScopeName is the instrumentation scope of choreo's tracer and meter.
const ScopeName = "github.com/choreo-bus/choreo/otelchoreo"

// Instrument returns a bus option that traces every message and records
// messaging metrics, through the bus's hooks:
//
//	b, err := bus.Connect(ctx, url, bus.WithSource("accounts"), otelchoreo.Instrument())
//
// Each call makes its own instruments' state; one result may be given to
// several buses. Instruments that the meter provider refuses are reported
// to otel.Handle and left out; Instrument itself cannot fail.
func Instrument(opts ...Option) bus.Option {
	return bus.WithHooks(newInstrumentation(newConfig(opts)).hooks())
}

// instrumentation is the state behind one Instrument call.
type instrumentation struct {
	tracer           trace.Tracer
	propagator       propagation.TextMapPropagator // nil: resolve the global one per message
	global           globalPropagator
	newTracePerEvent bool

	sent            metric.Int64Counter
	publishDuration metric.Float64Histogram
	consumed        metric.Int64Counter
	processDuration metric.Float64Histogram
	settled         metric.Int64Counter
	lag             *lagObserver

	producers [2]table[*producer] // [0] commands, [1] events, by topic
	consumers table[*consumer]    // by consumer name
}

// durationBuckets are the bucket boundaries, in seconds, that the
// messaging conventions advise for their duration histograms.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

func newInstrumentation(c config) *instrumentation {
	in := &instrumentation{
		tracer:           c.tracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		propagator:       c.propagator,
		newTracePerEvent: c.newTracePerEvent,
	}
	meter := c.meterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	var err error
	in.sent, err = meter.Int64Counter(messagingconv.ClientSentMessages{}.Name(),
		metric.WithUnit(messagingconv.ClientSentMessages{}.Unit()),
		metric.WithDescription(messagingconv.ClientSentMessages{}.Description()))
	handle(err)
	in.publishDuration, err = meter.Float64Histogram(messagingconv.ClientOperationDuration{}.Name(),
		metric.WithUnit("s"),
		metric.WithDescription("Duration of a send or publish, until the broker acknowledged it."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	handle(err)
	in.consumed, err = meter.Int64Counter(messagingconv.ClientConsumedMessages{}.Name(),
		metric.WithUnit(messagingconv.ClientConsumedMessages{}.Unit()),
		metric.WithDescription(messagingconv.ClientConsumedMessages{}.Description()))
	handle(err)
	in.processDuration, err = meter.Float64Histogram(messagingconv.ProcessDuration{}.Name(),
		metric.WithUnit("s"),
		metric.WithDescription("Duration of a delivery, from its arrival at a worker until it was settled (acknowledged, retried or dead-lettered)."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	handle(err)
	in.settled, err = meter.Int64Counter("choreo.messages.settled",
		metric.WithUnit("{message}"),
		metric.WithDescription("Deliveries settled, by what the bus did (choreo.settlement: ack, retry, dead_letter, release) and, for a failure, its class (error.type; panic when the handler panicked)."))
	handle(err)
	if c.lagInterval >= 0 {
		in.lag = newLagObserver(meter, c.lagInterval, in.consumerFor)
	}
	return in
}

// handle reports an instrument the meter provider refused; the API then
// returns a no-op instrument, so the rest keeps working.
func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

func (in *instrumentation) hooks() bus.Hooks {
	h := bus.Hooks{
		Publish:   in.publish,
		Published: in.published,
		Receive:   in.receive,
		Settle:    in.settle,
	}
	if in.lag != nil {
		h.Open = in.lag.add
	}
	return h
}

// propagators returns the propagator for one message.
func (in *instrumentation) propagators() propagation.TextMapPropagator {
	if in.propagator != nil {
		return in.propagator
	}
	return in.global.get()
}

// producerFor returns the description of sending to topic n.
func (in *instrumentation) producerFor(k topic.Kind, n topic.Name) *producer {
	t := &in.producers[0]
	if k == topic.KindEvent {
		t = &in.producers[1]
	}
	name := n.String()
	if p, ok := t.get(name); ok {
		return p
	}
	return t.add(name, newProducer(k, name))
}

// consumerFor returns the description of a subscription's consumer.
func (in *instrumentation) consumerFor(stream, name string) *consumer {
	if c, ok := in.consumers.get(name); ok && c.stream == stream {
		return c
	} else if ok {
		// The same consumer name on another stream (two namespaces on one
		// process): rare enough to describe afresh each time.
		return newConsumer(stream, name)
	}
	return in.consumers.add(name, newConsumer(stream, name))
}
