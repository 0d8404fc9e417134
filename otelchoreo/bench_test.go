package otelchoreo

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// What instrumentation costs one message, measured on the hooks alone: a
// publish (Publish and Published hooks, producer span, context injected
// into the envelope, two metrics) and a delivery of it (Receive and Settle
// hooks, context extracted, consumer span, three metrics). The bus's own
// work is the same with or without them; without Instrument it runs no
// hook at all (see BenchmarkEndToEnd).
//
//   - noop: Instrument with the API's no-op providers, what a program gets
//     that installs Instrument but never sets up the SDK.
//   - unsampled: the SDK, with a sampler that samples nothing, and SDK
//     metrics.
//   - sampled: the SDK sampling everything into a batch span processor
//     (with an exporter that drops the batches), and SDK metrics.
func BenchmarkMessageHooks(b *testing.B) {
	for _, c := range providerCases(b) {
		b.Run(c.name, func(b *testing.B) {
			in := newInstrumentation(newConfig([]Option{WithTracerProvider(c.tp), WithMeterProvider(c.mp)}))
			cmd := topic.MustCommand[struct{}]("v1.user.signup")
			ctx := context.Background()
			data := []byte(`{"user_id":"0190f5d2-6f5e-7c8b-9b1e-3f9a2c4d5e6f","email":"someone@example.com","plan":"pro","seq":1}`)
			b.ReportAllocs()
			for b.Loop() {
				env := &envelope.Envelope{ID: "0190f5d2-6f5e-7c8b-9b1e-3f9a2c4d5e70", Source: "web", Type: "v1.user.signup",
					CorrelationID: "0190f5d2-6f5e-7c8b-9b1e-3f9a2c4d5e71", Data: data}
				out := bus.Outgoing{Envelope: env, Kind: topic.KindCommand, Topic: cmd.Name(), WireSubject: "cmd.v1.user.signup"}
				pctx := in.publish(ctx, &out)
				in.published(pctx, &out, bus.Receipt{ID: env.ID, Stream: "CMD_user", Sequence: 1}, nil)

				d := bus.Delivery{Envelope: env, WireSubject: "cmd.v1.user.signup", Stream: "CMD_user",
					Consumer: "accounts__v1_user_signup", StreamSequence: 1, Attempt: 1, MaxDeliver: 5}
				dctx := in.receive(ctx, &d)
				in.settle(dctx, &d, bus.Settlement{Decision: bus.DecisionAck, HandlerDuration: time.Microsecond})
			}
		})
	}
}

type providers struct {
	name string
	tp   trace.TracerProvider
	mp   metric.MeterProvider
}

func providerCases(b *testing.B) []providers {
	sdkMeter := func() metric.MeterProvider {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		return mp
	}
	sdkTracer := func(s sdktrace.Sampler) trace.TracerProvider {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp
	}
	return []providers{
		{"noop", tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()},
		{"unsampled", sdkTracer(sdktrace.NeverSample()), sdkMeter()},
		{"sampled", sdkTracer(sdktrace.AlwaysSample()), sdkMeter()},
	}
}

// BenchmarkEndToEnd sends commands to a real server and handles them on
// the same bus, with and without Instrument: one op is one Send (waiting
// for the broker's acknowledgement) and its delivery, acknowledged. "off"
// is a bus without Instrument, which runs no hook code at all.
func BenchmarkEndToEnd(b *testing.B) {
	cases := append([]providers{{name: "off"}}, providerCases(b)...)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var opts []bus.Option
			if c.tp != nil {
				opts = append(opts, Instrument(WithTracerProvider(c.tp), WithMeterProvider(c.mp), WithLagInterval(-1)))
			}
			bb := bustest.New(b, opts...)
			ctx := context.Background()
			cmd := topic.MustCommand[benchPayload]("v1.user.signup")
			var handled atomic.Int64
			progress := make(chan struct{}, 1)
			_, err := bus.HandleCommand(ctx, bb, cmd, func(context.Context, *bus.Message[benchPayload]) error {
				handled.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
				return nil
			}, bus.WithConcurrency(4))
			if err != nil {
				b.Fatal(err)
			}
			p := benchPayload{UserID: "0190f5d2-6f5e-7c8b-9b1e-3f9a2c4d5e6f", Email: "someone@example.com", Plan: "pro"}
			b.ReportAllocs()
			n := int64(0)
			for b.Loop() {
				n++
				if _, err := bus.Send(ctx, bb, cmd, p); err != nil {
					b.Fatal(err)
				}
			}
			for handled.Load() < n {
				select {
				case <-progress:
				case <-time.After(time.Minute):
					b.Fatalf("%d of %d commands handled after a minute", handled.Load(), n)
				}
			}
		})
	}
}

type benchPayload struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Plan   string `json:"plan"`
	Seq    int    `json:"seq"`
}
