// Package otelchoreo traces choreo's messages and records their metrics
// with OpenTelemetry, so that "what happened to this signup?" has one
// answer: a trace of the whole choreography, retries, dead letters and
// redeliveries included.
//
// It is a package of its own so that the bus does not depend on
// OpenTelemetry: it works through the bus's hooks (bus.Hooks), and a bus
// without Instrument pays nothing for it. It uses the OpenTelemetry API
// only; the program chooses the SDK and exporters.
//
//	otel.SetTracerProvider(tp) // and otel.SetMeterProvider(mp), as usual
//	b, err := bus.Connect(ctx, url, bus.WithSource("accounts"), otelchoreo.Instrument())
//
// # Spans
//
// Spans follow the OpenTelemetry messaging semantic conventions. Every
// Send and Publish (and their Async forms) is a PRODUCER span named
// "send <topic>" or "publish <topic>", a child of the caller's span; every
// delivery attempt is a CONSUMER span named "process <topic>". Their
// attributes: messaging.system "nats", messaging.operation.name and
// .type, messaging.destination.name (the topic), messaging.message.id (the
// CloudEvents id), messaging.message.conversation_id (the correlation
// id), messaging.message.body.size, cloudevents.event_source (the sending
// service); on consumer spans also messaging.consumer.group.name,
// messaging.destination.subscription.name (the durable consumer) and
// choreo.delivery.attempt. A consumer span ends when the bus has settled
// the delivery and records the decision as choreo.settlement (ack, retry,
// dead_letter, release). A retry or a dead letter sets the status to Error
// with the handler's error or the dead-letter reason as description,
// error.type to a short class (panic, decode, permanent, timeout,
// canceled, _OTHER), and choreo.retry.delay or choreo.dead_letter.reason.
//
// # How the context travels
//
// The Publish hook writes the producer span's context into the message as
// CloudEvents extension attributes, as the CloudEvents distributed-tracing
// extension specifies: traceparent and tracestate (headers ce-traceparent
// and ce-tracestate), plus whatever else the propagator carries (baggage).
// The Receive hook reads them, and the consumer span becomes the parent of
// the handler's context, so the messages a handler sends or publishes with
// its ctx are children of its consumer span. The context is injected even
// when the producer span is not sampled, so a choreography is sampled, or
// not, as a whole.
//
// # Commands, events and their producers
//
// Every consumer span links to the producer span of its message, as the
// conventions ask. By default it is also the producer span's child, for
// commands and events alike, so that a choreography is one trace: web's
// request, the command, the account created, the event, each group's
// reaction and the events those publish. A choreography is one business
// transaction carried out by several services, and the trace should show
// it whole, as the correlation id does.
//
// NServiceBus documents another choice for events: a published event
// starts a new trace, linked to the publisher's span, because one event
// fans out to many unrelated consumers and the publisher's trace would
// otherwise keep growing (a subscriber group added next month replays the
// stream into last month's traces). WithNewTracePerEvent selects it; the
// choreography then stays followable through the links. Commands always
// continue their sender's trace: a command has exactly one handler, which
// acts for the sender.
//
// Retries are attempts of the same message: each attempt is its own
// consumer span, with its attempt number, and all of them are children of
// (and linked to) the same producer span. A dead letter ends its last
// attempt's span with the reason. Bus.Redeliver copies the message's
// headers, traceparent included, so the redelivered message's consumer
// span belongs to the original trace and links to the original producer
// span, however long it waited.
//
// A traceparent that is not a valid trace context (anyone who may publish
// can write one) is ignored: the consumer span then starts a trace of its
// own. Extension names are lower-case letters and digits, so a propagator
// field such as B3's "x-b3-traceid" travels as "xb3traceid".
//
// # Metrics
//
// Names come from the messaging conventions where they exist:
//
//   - messaging.client.sent.messages: messages sent and published, by
//     topic and operation (send, publish), with error.type for failures
//     (closed, malformed, timeout, canceled, _OTHER).
//   - messaging.client.operation.duration (seconds): a send or publish,
//     until the broker acknowledged it.
//   - messaging.client.consumed.messages: deliveries handed to a handler,
//     by topic and consumer group.
//   - messaging.process.duration (seconds): a delivery from its arrival at
//     a worker until it was settled; error.type for retries and dead
//     letters.
//   - choreo.messages.settled: deliveries by outcome, choreo.settlement ack,
//     retry, dead_letter or release, with error.type for the failures;
//     panics are error.type "panic".
//   - choreo.consumer.pending and choreo.consumer.ack_pending (gauges): per
//     consumer group of the bus's running subscriptions, the messages
//     stored but not yet delivered (the group's lag) and those delivered
//     but not yet acknowledged, as the server counts them.
//
// The gauges cost one consumer-info request per subscription, made when a
// metric reader collects and the last read is older than WithLagInterval
// (10 seconds by default), so a Prometheus scrape every 15 seconds makes
// one request per subscription and an idle reader none. Every other metric
// is recorded in the hooks with attribute sets built once per topic and
// consumer group.
//
// Durations use the bucket boundaries the conventions advise (5 ms to 10
// s). To expose everything to Prometheus, give the SDK's meter provider
// the OpenTelemetry Prometheus exporter as a reader (see examples/signup).
//
// # Cost
//
// A bus without Instrument pays nothing. With it, the hooks cost each
// message (one publish and one delivery) about 1 µs with the API's no-op
// providers, 8 µs with the SDK not sampling and 23 µs sampling, on a
// loaded 2-core machine (BENCHMARKS.md): a few percent of a message's
// round trip to the broker.
package otelchoreo
