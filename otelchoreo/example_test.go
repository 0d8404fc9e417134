package otelchoreo_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/otelchoreo"
	"github.com/choreo-bus/choreo/topic"
)

// A command sent and handled on an instrumented bus: a producer span, a
// consumer span that is its child, and the settlement counted. A program
// would rather set the global providers (otel.SetTracerProvider,
// otel.SetMeterProvider) and call Instrument() without options.
func ExampleInstrument() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("accounts"),
		otelchoreo.Instrument(otelchoreo.WithTracerProvider(tp), otelchoreo.WithMeterProvider(mp)))
	if err != nil {
		log.Fatal(err)
	}
	type Signup struct{ Email string }
	signup := topic.MustCommand[Signup]("v1.user.signup")
	handled := make(chan struct{})
	_, err = bus.HandleCommand(ctx, b, signup, func(context.Context, *bus.Message[Signup]) error {
		close(handled)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := bus.Send(ctx, b, signup, Signup{Email: "ada@example.com"}); err != nil {
		log.Fatal(err)
	}
	<-handled
	// Close waits for the handler's worker, which settles the message (and
	// ends its span) after the handler has returned.
	if err := b.Close(ctx); err != nil {
		log.Fatal(err)
	}

	byID := map[string]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		byID[s.SpanContext.SpanID().String()] = s
	}
	for _, s := range spans.GetSpans() {
		if s.Parent.IsValid() {
			fmt.Printf("%s %q, child of %q\n", s.SpanKind, s.Name, byID[s.Parent.SpanID().String()].Name)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "choreo.messages.settled" {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				outcome, _ := p.Attributes.Value(attribute.Key("choreo.settlement"))
				fmt.Printf("%s{choreo.settlement=%s} %d\n", m.Name, outcome.Emit(), p.Value)
			}
		}
	}
	// Output:
	// consumer "process v1.user.signup", child of "send v1.user.signup"
	// choreo.messages.settled{choreo.settlement=ack} 1
}
