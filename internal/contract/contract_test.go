package contract_test

import (
	"context"
	"database/sql"
	"iter"
	"log/slog"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/envelope/cesdk"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/otelchoreo"
	"github.com/choreo-bus/choreo/outbox"
	"github.com/choreo-bus/choreo/topic"
)

type payload struct{}

// Each assignment fails to compile if a name or signature of the public API
// listed in docs/architecture.md changes.
var (
	_ error                                                         = topic.ErrInvalidName
	_ error                                                         = topic.ErrTense
	_ func(string) (topic.Name, error)                              = topic.Parse
	_ func(topic.Name) string                                       = topic.Name.String
	_ func() topic.Option                                           = topic.SkipTenseCheck
	_ func(string, ...topic.Option) (topic.Command[payload], error) = topic.NewCommand[payload]
	_ func(string, ...topic.Option) topic.Command[payload]          = topic.MustCommand[payload]
	_ func(string, ...topic.Option) (topic.Event[payload], error)   = topic.NewEvent[payload]
	_ func(string, ...topic.Option) topic.Event[payload]            = topic.MustEvent[payload]
	_ func(topic.Command[payload]) topic.Name                       = topic.Command[payload].Name
	_ func(topic.Event[payload]) topic.Name                         = topic.Event[payload].Name

	_ error                                                          = envelope.ErrMalformed
	_ func() string                                                  = envelope.NewID
	_ func(*nats.Msg, *envelope.Envelope) error                      = envelope.Write
	_ func(nats.Header, []byte) (*envelope.Envelope, error)          = envelope.Read
	_ func(*envelope.Envelope) (cloudevents.Event, error)            = cesdk.ToEvent
	_ func(cloudevents.Event) (*envelope.Envelope, error)            = cesdk.FromEvent
	_ func(context.Context, string, ...bus.Option) (*bus.Bus, error) = bus.Connect
	_ func(*nats.Conn, ...bus.Option) (*bus.Bus, error)              = bus.New
	_ func(*bus.Bus, context.Context) error                          = (*bus.Bus).Close
	_ func(string) bus.Option                                        = bus.WithSource
	_ func(string) bus.Option                                        = bus.WithNamespace
	_ func(*slog.Logger) bus.Option                                  = bus.WithLogger
	_ func(...bus.Middleware) bus.Option                             = bus.WithMiddleware

	_ func(context.Context, *bus.Bus, topic.Command[payload], payload, ...bus.PublishOption) (bus.Receipt, error) = bus.Send[payload]
	_ func(context.Context, *bus.Bus, topic.Event[payload], payload, ...bus.PublishOption) (bus.Receipt, error)   = bus.Publish[payload]
	_ func(string) bus.PublishOption                                                                              = bus.WithID
	_ func(string) bus.PublishOption                                                                              = bus.WithSubject

	_ func(context.Context, *bus.Bus, topic.Command[payload], bus.Handler[payload], ...bus.SubscribeOption) (*bus.Subscription, error)       = bus.HandleCommand[payload]
	_ func(context.Context, *bus.Bus, topic.Event[payload], string, bus.Handler[payload], ...bus.SubscribeOption) (*bus.Subscription, error) = bus.Subscribe[payload]
	_ func(int) bus.SubscribeOption                                                                                                          = bus.WithConcurrency
	_ func(int) bus.SubscribeOption                                                                                                          = bus.WithMaxDeliver
	_ func(...time.Duration) bus.SubscribeOption                                                                                             = bus.WithBackoff
	_ func(time.Duration) bus.SubscribeOption                                                                                                = bus.WithAckWait
	_ func(...bus.Middleware) bus.SubscribeOption                                                                                            = bus.Use
	_ func(*bus.Subscription)                                                                                                                = (*bus.Subscription).Stop
	_ func(*bus.Subscription, context.Context) error                                                                                         = (*bus.Subscription).Drain
	_ func(error) error                                                                                                                      = bus.Permanent
	_ func(error, time.Duration) error                                                                                                       = bus.RetryAfter
	_ func(*bus.Bus, context.Context, bus.DeadLetterFilter) iter.Seq2[bus.DeadLetter, error]                                                 = (*bus.Bus).DeadLetters
	_ func(string, string) bus.PublishOption                                                                                                 = bus.WithExtension
	_ func(bus.Hooks) bus.Option                                                                                                             = bus.WithHooks
	_ func(...nats.Option) bus.Option                                                                                                        = bus.WithNATSOptions
	_ func(*bus.Bus, context.Context) error                                                                                                  = (*bus.Bus).Health
	_ func(*bus.Bus, context.Context, bus.DeadLetter) error                                                                                  = (*bus.Bus).Redeliver
	_ error                                                                                                                                  = bus.ErrClosed

	_ func(context.Context, *bus.Bus, topic.Command[payload], payload, ...bus.PublishOption) (*bus.Future, error) = bus.SendAsync[payload]
	_ func(context.Context, *bus.Bus, topic.Event[payload], payload, ...bus.PublishOption) (*bus.Future, error)   = bus.PublishAsync[payload]
	_ func(string) bus.PublishOption                                                                              = bus.WithCorrelationID
	_ func(*bus.Bus, context.Context, bus.DeadLetterFilter) (int, error)                                          = (*bus.Bus).PurgeDeadLetters
	_ func(*bus.Bus, context.Context, bus.DeadLetter) error                                                       = (*bus.Bus).DeleteDeadLetter

	_ func(time.Duration) bus.PublishOption                                                                                                       = bus.WithDelay
	_ func(time.Time) bus.PublishOption                                                                                                           = bus.WithDeliverAt
	_ func() bus.SubscribeOption                                                                                                                  = bus.WithOrdered
	_ func(float64, int) bus.SubscribeOption                                                                                                      = bus.WithRateLimit
	_ func(int, time.Duration, ...bus.BreakerOption) bus.SubscribeOption                                                                          = bus.WithCircuitBreaker
	_ func(context.Context, *bus.Bus, topic.Command[payload], payload, topic.Event[payload], ...bus.PublishOption) (*bus.Message[payload], error) = bus.SendAndAwait[payload, payload]
	_ func(context.Context, *bus.Bus, topic.Event[payload], ...bus.BatchOption) (*bus.Batch[payload], error)                                      = bus.PublishBatch[payload]
	_ func() bus.Option                                                                                                                           = bus.WithoutProvisioning
	_ func(*bus.Bus, context.Context, bus.Requirement, bool) ([]bus.Change, error)                                                                = (*bus.Bus).Provision
	_ error                                                                                                                                       = bus.ErrNotProvisioned

	_ func(idempotency.Store, ...idempotency.Option) bus.Middleware                                             = idempotency.Middleware
	_ func(...idempotency.MemoryOption) *idempotency.MemoryStore                                                = idempotency.NewMemoryStore
	_ func(context.Context, jetstream.JetStream, string, ...idempotency.KVOption) (*idempotency.KVStore, error) = idempotency.NewKVStore

	_ func(*sql.DB, *bus.Bus, ...outbox.Option) (*outbox.Outbox, error)                                                     = outbox.New
	_ func(context.Context, *sql.Tx, *outbox.Outbox, topic.Event[payload], payload, ...bus.PublishOption) (string, error)   = outbox.Publish[payload]
	_ func(context.Context, *sql.Tx, *outbox.Outbox, topic.Command[payload], payload, ...bus.PublishOption) (string, error) = outbox.Send[payload]
	_ func(*outbox.Outbox, context.Context) error                                                                           = (*outbox.Outbox).Run

	_ func(context.Context, ...embedded.Option) (*embedded.Server, error) = embedded.Start
	_ func(string) embedded.Option                                        = embedded.WithDir
	_ func(string) embedded.Option                                        = embedded.WithConfigFile
	_ func(int) embedded.Option                                           = embedded.WithPort
	_ func(*embedded.Server) string                                       = (*embedded.Server).ClientURL
	_ func(*embedded.Server)                                              = (*embedded.Server).Shutdown
	_ func(testing.TB, ...bus.Option) *bus.Bus                            = bustest.New
	_ func(testing.TB) *embedded.Server                                   = bustest.NewServer
)

// The struct shapes of the contract, field by field.
var (
	_ = topic.Name{Version: 1, Entity: "user", Verb: "signup"}
	_ = envelope.Envelope{
		ID: "", Source: "", Type: "", Subject: "", Time: time.Time{}, DataContentType: "", DataSchema: "",
		CorrelationID: "", CausationID: "", Extensions: map[string]string{}, Data: nil,
	}
	_                      = bus.Receipt{ID: "", Stream: "", Sequence: 0, Duplicate: false}
	_                      = bus.Message[payload]{Data: payload{}, Envelope: (*envelope.Envelope)(nil), Attempt: 1}
	_                      = bus.DeadLetter{Envelope: nil, Subject: "", Consumer: "", Reason: "", Deliveries: 0, FailedAt: time.Time{}}
	_ bus.HandlerFunc      = func(context.Context, *bus.Delivery) error { return nil }
	_ bus.Middleware       = func(h bus.HandlerFunc) bus.HandlerFunc { return h }
	_ bus.Handler[payload] = func(context.Context, *bus.Message[payload]) error { return nil }
)

// The OpenTelemetry instrumentation (package otelchoreo).
var (
	_ func(...otelchoreo.Option) bus.Option                 = otelchoreo.Instrument
	_ func(trace.TracerProvider) otelchoreo.Option          = otelchoreo.WithTracerProvider
	_ func(metric.MeterProvider) otelchoreo.Option          = otelchoreo.WithMeterProvider
	_ func(propagation.TextMapPropagator) otelchoreo.Option = otelchoreo.WithPropagators
)

// TestContractCompiles exists so that `go test` builds this file; the
// assertions above are checked by the compiler.
func TestContractCompiles(t *testing.T) {
	if topic.MustCommand[payload]("v1.user.signup").Name().String() != "v1.user.signup" {
		t.Fatal("a command's name does not round-trip")
	}
}
