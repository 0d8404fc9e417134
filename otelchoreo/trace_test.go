package otelchoreo_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/otelchoreo"
)

// signupServices runs the signup choreography on srv, each service on its
// own instrumented bus: accounts handles v1.user.signup and publishes
// v1.user.signedup; email fails its first attempt at each event, then
// publishes v1.email.welcome.sent; metrics counts v1.user.signedup; ops
// watches v1.email.welcome.sent. It returns web's bus, to send signups on.
type signupServices struct {
	web *bus.Bus
	// ids are the ce-ids the handlers saw, by "service topic".
	mu  sync.Mutex
	ids map[string][]string
	// welcomed receives each v1.email.welcome.sent that ops saw.
	welcomed chan string
}

func startSignup(t *testing.T, srv *embedded.Server, opts ...otelchoreo.Option) *signupServices {
	ctx := ctxT(t)
	s := &signupServices{ids: map[string][]string{}, welcomed: make(chan string, 16)}
	connect := func(service string) *bus.Bus {
		return bustest.Connect(t, srv, bus.WithSource(service), otelchoreo.Instrument(opts...))
	}
	accounts := connect("accounts")
	_, err := bus.HandleCommand(ctx, accounts, signupCmd, func(ctx context.Context, m *bus.Message[signupForm]) error {
		s.saw("accounts", m.Envelope)
		if m.Data.Email == "invalid" {
			return bus.Permanent(errors.New("invalid email address"))
		}
		_, err := bus.Publish(ctx, accounts, signedUpEvt, signedUp(m.Data))
		return err
	})
	require.NoError(t, err)

	email := connect("email")
	_, err = bus.Subscribe(ctx, email, signedUpEvt, "email", func(ctx context.Context, m *bus.Message[signedUp]) error {
		s.saw("email", m.Envelope)
		if m.Attempt == 1 {
			return errors.New("451 try again later")
		}
		_, err := bus.Publish(ctx, email, welcomeSentEvt, welcomeSent(m.Data))
		return err
	}, bus.WithBackoff(10*time.Millisecond))
	require.NoError(t, err)

	metrics := connect("metrics")
	_, err = bus.Subscribe(ctx, metrics, signedUpEvt, "metrics", func(_ context.Context, m *bus.Message[signedUp]) error {
		s.saw("metrics", m.Envelope)
		return nil
	})
	require.NoError(t, err)

	ops := connect("ops")
	_, err = bus.Subscribe(ctx, ops, welcomeSentEvt, "ops", func(_ context.Context, m *bus.Message[welcomeSent]) error {
		s.saw("ops", m.Envelope)
		s.welcomed <- m.Data.Email
		return nil
	})
	require.NoError(t, err)

	s.web = connect("web")
	return s
}

// waitWelcome waits for ops to see one v1.email.welcome.sent.
func (s *signupServices) waitWelcome(t *testing.T) {
	t.Helper()
	select {
	case <-s.welcomed:
	case <-time.After(30 * time.Second):
		t.Fatal("no v1.email.welcome.sent within 30s")
	}
}

func (s *signupServices) saw(service string, env *envelope.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[service+" "+env.Type] = append(s.ids[service+" "+env.Type], env.ID)
}

func (s *signupServices) seen(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids[key]...)
}

// One signup is one trace: web's request span -> send -> accounts'
// process -> publish -> email's two attempts (the failed one and the
// retry, separate spans, both linked to the publish) and metrics' process
// -> email's publish of v1.email.welcome.sent -> ops' process.
func TestSignupIsOneTrace(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	svc := startSignup(t, bustest.NewServer(t), otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp))

	reqCtx, request := tel.tp.Tracer("web").Start(ctx, "POST /signup", trace.WithSpanKind(trace.SpanKindServer))
	r, err := bus.Send(reqCtx, svc.web, signupCmd, signupForm{Email: "grace@example.com"}, bus.WithCorrelationID("request-1"))
	require.NoError(t, err)
	request.End()
	svc.waitWelcome(t)

	spans := tel.waitSpans(t, "the whole signup", func(s tracetest.SpanStubs) bool {
		return count("process v1.email.welcome.sent", 1)(s) && count("process v1.user.signedup", 3)(s)
	})
	root := named(spans, "POST /signup")[0]
	send := named(spans, "send v1.user.signup")[0]
	accounts := named(spans, "process v1.user.signup")[0]
	signedUp := named(spans, "publish v1.user.signedup")[0]
	emailTries := tracetest.SpanStubs{}
	var counted tracetest.SpanStub
	for _, s := range named(spans, "process v1.user.signedup") {
		if attrs(s)["messaging.consumer.group.name"] == "email" {
			emailTries = append(emailTries, s)
		} else {
			counted = s
		}
	}
	require.Len(t, emailTries, 2, "the failed attempt and the retry are two spans")
	failed, retried := emailTries[0], emailTries[1]
	if attrs(failed)["choreo.delivery.attempt"] != "1" {
		failed, retried = retried, failed
	}
	welcome := named(spans, "publish v1.email.welcome.sent")[0]
	ops := named(spans, "process v1.email.welcome.sent")[0]

	// One trace, parent by parent, from web's request to ops.
	for _, s := range spans {
		assert.Equal(t, root.SpanContext.TraceID(), s.SpanContext.TraceID(), "%s is in the signup's trace", s.Name)
	}
	parentOf := []struct {
		child, parent tracetest.SpanStub
	}{
		{send, root}, {accounts, send}, {signedUp, accounts}, {failed, signedUp}, {retried, signedUp},
		{counted, signedUp}, {welcome, retried}, {ops, welcome},
	}
	for _, p := range parentOf {
		assert.Equal(t, p.parent.SpanContext.SpanID(), p.child.Parent.SpanID(), "%s (%s) is a child of %s", p.child.Name, attrs(p.child)["messaging.consumer.group.name"], p.parent.Name)
	}
	// Each consumer span links to its producer span, each attempt alike.
	for _, l := range []struct {
		consumer, producer tracetest.SpanStub
	}{{accounts, send}, {failed, signedUp}, {retried, signedUp}, {counted, signedUp}, {ops, welcome}} {
		assert.True(t, linksTo(l.consumer, l.producer.SpanContext), "%s links to %s", l.consumer.Name, l.producer.Name)
	}

	// Kinds, names and attributes as the messaging conventions say.
	assert.Equal(t, trace.SpanKindProducer, send.SpanKind)
	assert.Equal(t, trace.SpanKindConsumer, accounts.SpanKind)
	a := attrs(send)
	assert.Equal(t, "nats", a["messaging.system"])
	assert.Equal(t, "send", a["messaging.operation.name"])
	assert.Equal(t, "send", a["messaging.operation.type"])
	assert.Equal(t, "v1.user.signup", a["messaging.destination.name"])
	assert.Equal(t, r.ID, a["messaging.message.id"])
	assert.Equal(t, "request-1", a["messaging.message.conversation_id"])
	assert.Equal(t, strconv.Itoa(len(`{"email":"grace@example.com"}`)), a["messaging.message.body.size"])
	assert.Equal(t, "web", a["cloudevents.event_source"])
	assert.Equal(t, "publish", attrs(signedUp)["messaging.operation.name"])

	c := attrs(accounts)
	assert.Equal(t, "nats", c["messaging.system"])
	assert.Equal(t, "process", c["messaging.operation.name"])
	assert.Equal(t, "process", c["messaging.operation.type"])
	assert.Equal(t, "v1.user.signup", c["messaging.destination.name"])
	assert.Equal(t, "accounts", c["messaging.consumer.group.name"])
	assert.Equal(t, "accounts__v1_user_signup", c["messaging.destination.subscription.name"])
	assert.Equal(t, r.ID, c["messaging.message.id"])
	assert.Equal(t, svc.seen("accounts v1.user.signup"), []string{r.ID})
	assert.Equal(t, "request-1", c["messaging.message.conversation_id"])
	assert.Equal(t, "1", c["choreo.delivery.attempt"])
	assert.Equal(t, "ack", c["choreo.settlement"])
	assert.Equal(t, codes.Unset, accounts.Status.Code)

	// The failed attempt: an error with the handler's reason, and when it
	// comes back; the retry succeeds as attempt 2 of the same message.
	f := attrs(failed)
	assert.Equal(t, codes.Error, failed.Status.Code)
	assert.Contains(t, failed.Status.Description, "451 try again later")
	assert.Equal(t, "retry", f["choreo.settlement"])
	assert.Equal(t, "_OTHER", f["error.type"])
	assert.Equal(t, "0.01", f["choreo.retry.delay"])
	assert.Equal(t, "2", attrs(retried)["choreo.delivery.attempt"])
	assert.Equal(t, "ack", attrs(retried)["choreo.settlement"])
	assert.Equal(t, f["messaging.message.id"], attrs(retried)["messaging.message.id"], "two attempts of one message")
	assert.Equal(t, attrs(signedUp)["messaging.message.id"], f["messaging.message.id"])
	assert.Equal(t, "email", attrs(welcome)["cloudevents.event_source"])
	assert.Equal(t, "request-1", attrs(ops)["messaging.message.conversation_id"], "the correlation id follows the choreography")
	assert.Len(t, spans, 9)
}

// A dead letter records its reason; redelivered, its consumer span stays
// in the original trace, a child of and linked to the original send.
func TestDeadLetterAndRedeliveryStayInTheTrace(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv, bus.WithSource("accounts"), otelchoreo.Instrument(otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp)))
	var mu sync.Mutex
	fixed := false
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(context.Context, *bus.Message[signupForm]) error {
		mu.Lock()
		defer mu.Unlock()
		if !fixed {
			return bus.Permanent(errors.New("invalid email address"))
		}
		return nil
	})
	require.NoError(t, err)

	_, err = bus.Send(ctx, b, signupCmd, signupForm{Email: "margaret.example.com"})
	require.NoError(t, err)
	dead := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{}, 1)
	spans := tel.waitSpans(t, "the dead-lettered attempt", count("process v1.user.signup", 1))
	send := named(spans, "send v1.user.signup")[0]
	parked := named(spans, "process v1.user.signup")[0]
	assert.Equal(t, codes.Error, parked.Status.Code)
	assert.Contains(t, parked.Status.Description, "invalid email address")
	assert.Equal(t, "dead_letter", attrs(parked)["choreo.settlement"])
	assert.Equal(t, "permanent", attrs(parked)["error.type"])
	assert.Equal(t, dead[0].Reason, attrs(parked)["choreo.dead_letter.reason"])

	mu.Lock()
	fixed = true
	mu.Unlock()
	require.NoError(t, b.Redeliver(ctx, dead[0]))
	spans = tel.waitSpans(t, "the redelivery", count("process v1.user.signup", 2))
	var redelivered tracetest.SpanStub
	for _, s := range named(spans, "process v1.user.signup") {
		if s.SpanContext.SpanID() != parked.SpanContext.SpanID() {
			redelivered = s
		}
	}
	assert.Equal(t, send.SpanContext.TraceID(), redelivered.SpanContext.TraceID(), "the redelivery is in the original trace")
	assert.Equal(t, send.SpanContext.SpanID(), redelivered.Parent.SpanID())
	assert.True(t, linksTo(redelivered, send.SpanContext), "linked to the original send")
	assert.Equal(t, "ack", attrs(redelivered)["choreo.settlement"])
	assert.Equal(t, attrs(parked)["messaging.message.id"], attrs(redelivered)["messaging.message.id"])
}

// With WithNewTracePerEvent an event's consumer starts its own trace,
// linked to the publisher's span; a command still continues its sender's.
func TestNewTracePerEventLinksToThePublisher(t *testing.T) {
	t.Parallel()
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	svc := startSignup(t, bustest.NewServer(t), otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp), otelchoreo.WithNewTracePerEvent())
	_, err := bus.Send(ctxT(t), svc.web, signupCmd, signupForm{Email: "ada@example.com"})
	require.NoError(t, err)
	svc.waitWelcome(t)
	spans := tel.waitSpans(t, "the whole signup", func(s tracetest.SpanStubs) bool {
		return count("process v1.email.welcome.sent", 1)(s) && count("process v1.user.signedup", 3)(s)
	})
	send := named(spans, "send v1.user.signup")[0]
	accounts := named(spans, "process v1.user.signup")[0]
	assert.Equal(t, send.SpanContext.SpanID(), accounts.Parent.SpanID(), "a command continues the trace")
	signedUp := named(spans, "publish v1.user.signedup")[0]
	assert.Equal(t, send.SpanContext.TraceID(), signedUp.SpanContext.TraceID())
	traces := map[trace.TraceID]bool{}
	for _, s := range named(spans, "process v1.user.signedup") {
		assert.False(t, s.Parent.IsValid(), "an event's consumer span is a root")
		assert.NotEqual(t, send.SpanContext.TraceID(), s.SpanContext.TraceID())
		assert.True(t, linksTo(s, signedUp.SpanContext), "linked to the publisher's span")
		traces[s.SpanContext.TraceID()] = true
	}
	assert.Len(t, traces, 3, "each attempt of each group starts its own trace")
}

// Not sampled, nothing is recorded, but the context still travels: the
// consumer sees the sender's trace id and the not-sampled flag.
func TestUnsampledContextStillTravels(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.NeverSample())
	b := bustest.New(t, otelchoreo.Instrument(otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp)))
	got := make(chan trace.SpanContext, 1)
	var traceparent string
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(ctx context.Context, m *bus.Message[signupForm]) error {
		traceparent = m.Envelope.Extensions["traceparent"]
		got <- trace.SpanContextFromContext(ctx)
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Send(ctx, b, signupCmd, signupForm{})
	require.NoError(t, err)
	sc := <-got
	assert.True(t, sc.IsValid())
	assert.False(t, sc.IsSampled())
	assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-00$`, traceparent)
	assert.Contains(t, traceparent, sc.TraceID().String())
	assert.Empty(t, tel.spans.GetSpans())
}

// A traceparent that is no valid trace context (anyone can publish) is
// ignored: the consumer span starts a trace of its own, without a link.
func TestForgedTraceparentIsIgnored(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	tel := newTelemetry(t, sdktrace.AlwaysSample())
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv, otelchoreo.Instrument(otelchoreo.WithTracerProvider(tel.tp), otelchoreo.WithMeterProvider(tel.mp),
		otelchoreo.WithPropagators(propagation.TraceContext{})))
	_, err := bus.HandleCommand(ctx, b, signupCmd, func(context.Context, *bus.Message[signupForm]) error { return nil })
	require.NoError(t, err)
	// An uninstrumented bus sends the forged value as it is.
	raw := bustest.Connect(t, srv)
	_, err = bus.Send(ctx, raw, signupCmd, signupForm{}, bus.WithExtension("traceparent", "00-zz-forged-01"))
	require.NoError(t, err)
	spans := tel.waitSpans(t, "the consumer span", count("process v1.user.signup", 1))
	s := named(spans, "process v1.user.signup")[0]
	assert.False(t, s.Parent.IsValid(), "a trace of its own")
	assert.Empty(t, s.Links)
	assert.Equal(t, "ack", attrs(s)["choreo.settlement"])
}
