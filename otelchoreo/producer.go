package otelchoreo

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/bus"
)

// attrDuplicate marks a publish the broker dropped because its stream
// already had a message with the same id (bus.Receipt.Duplicate).
const attrDuplicate = attribute.Key("choreo.publish.duplicate")

// publishState is what the Publish hook hands to the Published hook: the
// context holding the producer span, the span, and when the publish began.
type publishState struct {
	context.Context
	span  trace.Span
	start time.Time
	p     *producer
}

// publish starts the producer span of a Send or Publish, a child of the
// caller's span (inside a handler, of the consumer span of the message
// being handled), and writes its context into the message as CloudEvents
// extensions (traceparent, tracestate), so the consumers' spans can
// continue and link to it.
func (in *instrumentation) publish(ctx context.Context, m *bus.Outgoing) context.Context {
	p := in.producerFor(m.Kind, m.Topic)
	start := time.Now()
	ctx, span := in.tracer.Start(ctx, p.spanName, p.startOpts...)
	if span.IsRecording() {
		env := m.Envelope
		span.SetAttributes(
			semconv.MessagingMessageID(env.ID),
			semconv.MessagingMessageConversationID(env.CorrelationID),
			semconv.MessagingMessageBodySize(len(env.Data)),
			semconv.CloudEventsEventSource(env.Source),
		)
	}
	// Injected even when the span is not sampled: the flag in traceparent
	// tells the consumers, so one choreography is sampled as a whole.
	in.propagators().Inject(ctx, extensionCarrier{m.Envelope})
	return &publishState{Context: ctx, span: span, start: start, p: p}
}

// published ends the producer span with the broker's answer and records
// the publish's metrics. For SendAsync and PublishAsync it runs when the
// acknowledgement arrives.
func (in *instrumentation) published(ctx context.Context, _ *bus.Outgoing, r bus.Receipt, err error) {
	st, ok := ctx.(*publishState)
	if !ok {
		return
	}
	et := publishErrorType(err)
	if st.span.IsRecording() {
		switch {
		case err != nil:
			st.span.SetAttributes(semconv.ErrorTypeKey.String(errorTypeNames[et]))
			st.span.SetStatus(codes.Error, err.Error())
		case r.Duplicate:
			st.span.SetAttributes(attrDuplicate.Bool(true))
		}
	}
	st.span.End()
	in.sent.Add(st, 1, st.p.sentMeasure(et).add...)
	in.publishDuration.Record(st, time.Since(st.start).Seconds(), st.p.durationMeasure(et).rec...)
}
