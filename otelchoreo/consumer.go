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

// deliveryState is what the Receive hook hands to the handler (as the
// parent of its ctx, so the handler's publishes are children of the
// consumer span) and to the Settle hook.
type deliveryState struct {
	context.Context
	span  trace.Span
	start time.Time
	c     *consumer
}

// receive starts the consumer span of one delivery attempt. The producer's
// span context comes from the message's traceparent extension; the
// consumer span always links to it (each retry is its own span, linked to
// the same producer span) and, unless the message is an event and
// WithNewTracePerEvent is set, is also its child, so the choreography
// stays one trace.
func (in *instrumentation) receive(ctx context.Context, d *bus.Delivery) context.Context {
	start := time.Now()
	c := in.consumerFor(d.Stream, d.Consumer)
	opts := c.startOpts
	if d.Envelope != nil {
		ctx = in.propagators().Extract(ctx, extensionCarrier{d.Envelope})
		if producer := trace.SpanContextFromContext(ctx); producer.IsValid() {
			opts = append(opts[:len(opts):len(opts)], trace.WithLinks(trace.Link{SpanContext: producer}))
			if c.isEvent && in.newTracePerEvent {
				opts = append(opts, trace.WithNewRoot())
			}
		}
	}
	ctx, span := in.tracer.Start(ctx, c.spanName, opts...)
	if span.IsRecording() {
		if env := d.Envelope; env != nil {
			span.SetAttributes(
				attrAttempt.Int(d.Attempt),
				semconv.MessagingMessageID(env.ID),
				semconv.MessagingMessageConversationID(env.CorrelationID),
				semconv.MessagingMessageBodySize(len(env.Data)),
				semconv.CloudEventsEventSource(env.Source),
			)
		} else {
			span.SetAttributes(attrAttempt.Int(d.Attempt))
		}
	}
	return &deliveryState{Context: ctx, span: span, start: start, c: c}
}

// settle ends the consumer span with the bus's decision (an error status
// on a retry or a dead letter, with the reason) and records the delivery's
// metrics.
func (in *instrumentation) settle(ctx context.Context, _ *bus.Delivery, s bus.Settlement) {
	st, ok := ctx.(*deliveryState)
	if !ok {
		return
	}
	et := settlementErrorType(s)
	if span := st.span; span.IsRecording() {
		// One SetAttributes call: the SDK takes the span's lock per call.
		var buf [4]attribute.KeyValue
		kvs := append(buf[:0], attrSettlement.String(s.Decision.String()))
		if et != errNone {
			kvs = append(kvs, semconv.ErrorTypeKey.String(errorTypeNames[et]))
		}
		switch s.Decision {
		case bus.DecisionRetry:
			kvs = append(kvs, attrRetryDelay.Float64(s.Delay.Seconds()))
			span.SetStatus(codes.Error, errorText(s.Err))
		case bus.DecisionDeadLetter:
			kvs = append(kvs, attrDeadLetterReason.String(s.Reason))
			span.SetStatus(codes.Error, "dead-lettered: "+s.Reason)
		}
		span.SetAttributes(kvs...)
	}
	st.span.End()
	in.consumed.Add(st, 1, st.c.consumed.add...)
	in.processDuration.Record(st, time.Since(st.start).Seconds(), st.c.processMeasure(et).rec...)
	in.settled.Add(st, 1, st.c.settledMeasure(s.Decision, et).add...)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
