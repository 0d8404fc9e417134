package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
)

// settlements records what Settle hooks saw, per payload number.
type settlements struct {
	mu   sync.Mutex
	byN  map[int][]bus.Settlement
	raw  []bus.Settlement // deliveries without a decodable payload
	ctxs []string         // the value Receive put into the context, as Settle saw it
	wake chan struct{}
}

func newSettlements() *settlements {
	return &settlements{byN: map[int][]bus.Settlement{}, wake: make(chan struct{}, 1)}
}

type hookKey struct{}

func (s *settlements) hooks() bus.Hooks {
	return bus.Hooks{
		Receive: func(ctx context.Context, d *bus.Delivery) context.Context {
			return context.WithValue(ctx, hookKey{}, "received "+d.Consumer)
		},
		Settle: func(ctx context.Context, d *bus.Delivery, st bus.Settlement) {
			s.mu.Lock()
			defer s.mu.Unlock()
			v, _ := ctx.Value(hookKey{}).(string)
			s.ctxs = append(s.ctxs, v)
			var p struct {
				N int `json:"n"`
			}
			if d.Envelope == nil || bus.JSON().Unmarshal(d.Envelope.Data, &p) != nil {
				s.raw = append(s.raw, st)
			} else {
				s.byN[p.N] = append(s.byN[p.N], st)
			}
			select {
			case s.wake <- struct{}{}:
			default:
			}
		},
	}
}

func (s *settlements) waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.wake:
		case <-deadline:
			t.Fatalf("settle hooks did not see what was expected: %+v, raw %+v", s.byN, s.raw)
		}
	}
}

// A Publish hook adds an extension that the handler reads; a Settle hook
// sees every decision: ack, retry with its delay, dead letter with its
// reason, and an undecodable message dead-lettered before any middleware.
func TestHooksSeePublishesAndEveryDecision(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	published := make(chan bus.Outgoing, 16)
	var publishedErr error
	var mu sync.Mutex
	tenant := bus.Hooks{
		Publish: func(ctx context.Context, m *bus.Outgoing) context.Context {
			m.Envelope.Extensions = map[string]string{"tenant": "acme"}
			return context.WithValue(ctx, hookKey{}, "span of "+m.Envelope.ID)
		},
		Published: func(ctx context.Context, m *bus.Outgoing, r bus.Receipt, err error) {
			mu.Lock()
			publishedErr = errors.Join(publishedErr, err)
			if v, _ := ctx.Value(hookKey{}).(string); v != "span of "+m.Envelope.ID || r.ID != m.Envelope.ID || r.Sequence == 0 {
				publishedErr = errors.Join(publishedErr, errors.New("Published saw "+v+" for "+r.ID))
			}
			mu.Unlock()
			published <- *m
		},
	}
	seen := newSettlements()
	b := bustest.New(t, bus.WithSource("hooks"), bus.WithHooks(tenant), bus.WithHooks(seen.hooks()))

	tenants := make(chan string, 16)
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(_ context.Context, m *bus.Message[signedUp]) error {
		tenants <- m.Envelope.Extensions["tenant"]
		switch {
		case m.Data.N == 2 && m.Attempt == 1:
			return bus.RetryAfter(errors.New("not yet"), 50*time.Millisecond)
		case m.Data.N == 3:
			return bus.Permanent(errors.New("never"))
		case m.Data.N == 4:
			panic("boom")
		}
		return nil
	}, bus.WithMaxDeliver(2), bus.WithBackoff(50*time.Millisecond))
	require.NoError(t, err)

	for n := 1; n <= 3; n++ {
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp{N: n})
		require.NoError(t, err)
	}
	f, err := bus.PublishAsync(ctx, b, signedUpEvt, signedUp{N: 4})
	require.NoError(t, err)
	_, err = f.Wait(ctx)
	require.NoError(t, err)
	// Not a CloudEvent: dead-lettered on arrival.
	_, err = b.JetStream().PublishMsg(ctx, &nats.Msg{Subject: "evt.v1.user.signedup", Data: []byte("garbage")})
	require.NoError(t, err)

	for range 4 {
		select {
		case m := <-published:
			require.Equal(t, "acme", m.Envelope.Extensions["tenant"])
			require.Equal(t, "v1.user.signedup", m.Topic.String())
			require.Equal(t, "evt.v1.user.signedup", m.WireSubject)
		case <-ctx.Done():
			t.Fatal("Published hooks did not run for every publish")
		}
	}
	mu.Lock()
	require.NoError(t, publishedErr)
	mu.Unlock()

	seen.waitFor(t, func() bool {
		return len(seen.byN[1]) == 1 && len(seen.byN[2]) == 2 && len(seen.byN[3]) == 1 && len(seen.byN[4]) == 2 && len(seen.raw) == 1
	})
	seen.mu.Lock()
	defer seen.mu.Unlock()
	require.Equal(t, bus.DecisionAck, seen.byN[1][0].Decision)
	require.Positive(t, seen.byN[1][0].HandlerDuration)

	require.Equal(t, bus.DecisionRetry, seen.byN[2][0].Decision)
	require.Equal(t, 50*time.Millisecond, seen.byN[2][0].Delay)
	require.Equal(t, bus.DecisionAck, seen.byN[2][1].Decision)

	require.Equal(t, bus.DecisionDeadLetter, seen.byN[3][0].Decision)
	require.Contains(t, seen.byN[3][0].Reason, "never")

	require.Equal(t, bus.DecisionRetry, seen.byN[4][0].Decision)
	require.True(t, seen.byN[4][0].Panicked)
	require.Equal(t, bus.DecisionDeadLetter, seen.byN[4][1].Decision, "a panic on the last attempt dead-letters")
	require.True(t, seen.byN[4][1].Panicked)

	raw := seen.raw[0]
	require.Equal(t, bus.DecisionDeadLetter, raw.Decision)
	require.ErrorIs(t, raw.Err, bus.ErrDecode)
	require.Zero(t, raw.HandlerDuration, "no handler ran")
	for _, v := range seen.ctxs {
		require.Equal(t, "received g__v1_user_signedup", v, "Settle gets the context Receive returned")
	}
	for range 6 {
		require.Equal(t, "acme", <-tenants, "the handler reads the extension the Publish hook set")
	}
}

// The handler's context descends from the one Receive returned, so a span
// started there is the parent of what the handler publishes.
func TestReceiveHookContextIsTheHandlersParent(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	b := bustest.New(t, bus.WithHooks(bus.Hooks{
		Receive: func(ctx context.Context, d *bus.Delivery) context.Context {
			return context.WithValue(ctx, hookKey{}, d.Envelope.ID)
		},
	}))
	got := make(chan [2]string, 1)
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(ctx context.Context, m *bus.Message[signedUp]) error {
		v, _ := ctx.Value(hookKey{}).(string)
		got <- [2]string{v, m.Envelope.ID}
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1})
	require.NoError(t, err)
	select {
	case g := <-got:
		require.Equal(t, g[1], g[0])
	case <-ctx.Done():
		t.Fatal("handler did not run")
	}
}

// WithExtension travels to the subscriber; an invalid name fails the
// publish with ErrMalformed and sends nothing.
func TestWithExtension(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	b := bustest.New(t)
	got := make(chan map[string]string, 1)
	_, err := bus.Subscribe(ctx, b, signedUpEvt, "g", func(_ context.Context, m *bus.Message[signedUp]) error {
		got <- m.Envelope.Extensions
		return nil
	})
	require.NoError(t, err)
	for _, bad := range []string{"Tenant", "correlationid", "id", "", "ten-ant"} {
		_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1}, bus.WithExtension(bad, "x"))
		require.ErrorIs(t, err, envelope.ErrMalformed, "extension name %q", bad)
	}
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1}, bus.WithExtension("tenant", "a"), bus.WithExtension("tenant", "acme"), bus.WithExtension("region", "eu"))
	require.NoError(t, err)
	select {
	case ext := <-got:
		require.Equal(t, map[string]string{"tenant": "acme", "region": "eu"}, ext)
	case <-ctx.Done():
		t.Fatal("handler did not run")
	}
}

// Two services that both publish with WithID("order-42") keep both their
// messages: the broker's dedupe keys on source and id, as CloudEvents
// identifies an event; the same service's retry is still dropped.
func TestSameIDFromTwoSourcesIsTwoMessages(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	srv := bustest.NewServer(t)
	shop := bustest.Connect(t, srv, bus.WithSource("shop"))
	billing := bustest.Connect(t, srv, bus.WithSource("billing"))
	r1, err := bus.Publish(ctx, shop, signedUpEvt, signedUp{N: 1}, bus.WithID("order-42"))
	require.NoError(t, err)
	r2, err := bus.Publish(ctx, billing, signedUpEvt, signedUp{N: 2}, bus.WithID("order-42"))
	require.NoError(t, err)
	require.False(t, r2.Duplicate, "another service's message with the same id was dropped")
	require.NotEqual(t, r1.Sequence, r2.Sequence)
	again, err := bus.Publish(ctx, shop, signedUpEvt, signedUp{N: 1}, bus.WithID("order-42"))
	require.NoError(t, err)
	require.True(t, again.Duplicate, "the same service's retry must be dropped")
}

// Open hooks see each bus they are installed on, before it is returned;
// Subscriptions lists the running subscriptions with their streams, and a
// stopped one leaves the list.
func TestOpenHookAndSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	var opened []*bus.Bus
	h := bus.Hooks{Open: func(b *bus.Bus) { opened = append(opened, b) }}
	srv := bustest.NewServer(t)
	b1 := bustest.Connect(t, srv, bus.WithSource("one"), bus.WithHooks(h))
	b2 := bustest.Connect(t, srv, bus.WithSource("two"), bus.WithHooks(h))
	require.Equal(t, []*bus.Bus{b1, b2}, opened)
	require.Empty(t, b1.Subscriptions())

	noop := func(context.Context, *bus.Message[signedUp]) error { return nil }
	gb, err := bus.Subscribe(ctx, b1, signedUpEvt, "g-b", noop)
	require.NoError(t, err)
	ga, err := bus.Subscribe(ctx, b1, signedUpEvt, "g-a", noop)
	require.NoError(t, err)
	require.Equal(t, []*bus.Subscription{ga, gb}, b1.Subscriptions(), "ordered by consumer name")
	require.Equal(t, "EVT_user", ga.Stream())
	require.Empty(t, b2.Subscriptions(), "each bus lists its own")

	ga.Stop()
	require.Equal(t, []*bus.Subscription{gb}, b1.Subscriptions())
}
