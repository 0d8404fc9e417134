package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/topic"
)

// These tests run the middleware where it lives: in a bus subscription on a
// real embedded JetStream server, with the KV store.

type orderPlaced struct {
	OrderID string `json:"order_id"`
}

var orderPlacedEvt = topic.MustEvent[orderPlaced]("v1.order.placed")

// publishCopy publishes an order event with the given ce-id and Nats-Msg-Id
// through raw nats.go, as a publisher that retries with a fresh message ID
// (or after the duplicate window) would: the broker stores every copy.
func publishCopy(t *testing.T, b *bus.Bus, id, msgID, orderID string) {
	t.Helper()
	data, err := json.Marshal(orderPlaced{OrderID: orderID})
	require.NoError(t, err)
	msg := nats.NewMsg(topic.Subject(b.Namespace(), topic.KindEvent, orderPlacedEvt.Name()))
	require.NoError(t, envelope.Write(msg, &envelope.Envelope{
		ID: id, Source: b.Source(), Type: "v1.order.placed", Time: time.Now(),
		DataContentType: "application/json", Data: data,
	}))
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	ack, err := b.JetStream().PublishMsg(context.Background(), msg)
	require.NoError(t, err)
	require.False(t, ack.Duplicate, "each copy has its own Nats-Msg-Id, so the broker keeps it")
}

// waitSettled waits until the subscription's consumer has nothing pending
// and nothing awaiting an ack: every copy was handled or acked as a
// duplicate.
func waitSettled(t *testing.T, b *bus.Bus, sub *bus.Subscription, within time.Duration) {
	t.Helper()
	stream := topic.Stream(b.Namespace(), topic.KindEvent, "order")
	require.Eventually(t, func() bool {
		c, err := b.JetStream().Consumer(context.Background(), stream, sub.Consumer())
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	}, within, 50*time.Millisecond)
}

func TestEndToEndTwoInstancesHandleEachEventOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := bustest.NewServer(t)
	const events, copies = 60, 3

	var mu sync.Mutex
	effects := map[string]int{}    // order -> side effects
	byInstance := map[string]int{} // instance -> handler runs
	var deliveries atomic.Int64    // every delivery that reached the middleware
	var subs []*bus.Subscription
	var buses []*bus.Bus
	for _, instance := range []string{"a", "b"} {
		b := bustest.Connect(t, srv, bus.WithSource("billing"))
		store, err := idempotency.NewKVStore(ctx, b.JetStream(), "billing_inbox")
		require.NoError(t, err)
		count := func(next bus.HandlerFunc) bus.HandlerFunc {
			return func(ctx context.Context, d *bus.Delivery) error {
				deliveries.Add(1)
				return next(ctx, d)
			}
		}
		sub, err := bus.Subscribe(ctx, b, orderPlacedEvt, "billing", func(ctx context.Context, m *bus.Message[orderPlaced]) error {
			time.Sleep(2 * time.Millisecond) // some work, so copies overlap
			mu.Lock()
			defer mu.Unlock()
			effects[m.Data.OrderID]++
			byInstance[instance]++
			return nil
		},
			bus.WithConcurrency(4),
			bus.WithMaxDeliver(20),
			bus.Use(count, idempotency.Middleware(store, idempotency.WithBusyDelay(50*time.Millisecond))),
		)
		require.NoError(t, err)
		subs = append(subs, sub)
		buses = append(buses, b)
	}
	require.Equal(t, subs[0].Consumer(), subs[1].Consumer(), "one group: one shared consumer")

	for i := range events {
		id := envelope.NewID()
		for c := range copies {
			publishCopy(t, buses[i%2], id, id+"-copy"+strconv.Itoa(c), "order-"+strconv.Itoa(i))
		}
	}
	waitSettled(t, buses[0], subs[0], 60*time.Second)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, effects, events)
	for order, n := range effects {
		require.Equal(t, 1, n, "side effects of %s", order)
	}
	require.GreaterOrEqual(t, deliveries.Load(), int64(events*copies), "every copy was delivered")
	t.Logf("%d deliveries of %d messages; handler runs per instance: %v", deliveries.Load(), events*copies, byInstance)
}

func TestEndToEndLostAckIsNotRunAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := bustest.New(t, bus.WithSource("billing"))
	store, err := idempotency.NewKVStore(ctx, b.JetStream(), "billing_inbox")
	require.NoError(t, err)

	var runs atomic.Int64
	outcomes := make(chan string, 10)
	// Outside the dedupe middleware: the handler succeeds, then the first
	// delivery fails anyway, as when the ack never reaches the server.
	loseFirstAck := func(next bus.HandlerFunc) bus.HandlerFunc {
		return func(ctx context.Context, d *bus.Delivery) error {
			err := next(ctx, d)
			outcomes <- strconv.Itoa(d.Attempt) + ":" + errString(err)
			if d.Attempt == 1 {
				return errors.New("ack lost")
			}
			return err
		}
	}
	sub, err := bus.Subscribe(ctx, b, orderPlacedEvt, "billing", func(context.Context, *bus.Message[orderPlaced]) error {
		runs.Add(1)
		return nil
	}, bus.WithBackoff(50*time.Millisecond), bus.Use(loseFirstAck, idempotency.Middleware(store)))
	require.NoError(t, err)

	_, err = bus.Publish(ctx, b, orderPlacedEvt, orderPlaced{OrderID: "42"})
	require.NoError(t, err)
	require.Equal(t, "1:ok", <-outcomes)
	require.Equal(t, "2:ok", <-outcomes, "the redelivery is acked")
	waitSettled(t, b, sub, 10*time.Second)
	require.EqualValues(t, 1, runs.Load(), "the handler ran once")
}

func TestEndToEndFailureRunsAgainOnNextAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := bustest.New(t, bus.WithSource("billing"))
	store, err := idempotency.NewKVStore(ctx, b.JetStream(), "billing_inbox")
	require.NoError(t, err)

	attempts := make(chan int, 10)
	sub, err := bus.Subscribe(ctx, b, orderPlacedEvt, "billing", func(_ context.Context, m *bus.Message[orderPlaced]) error {
		attempts <- m.Attempt
		if m.Attempt == 1 {
			return errors.New("payment service unavailable")
		}
		return nil
	}, bus.WithBackoff(50*time.Millisecond), bus.Use(idempotency.Middleware(store)))
	require.NoError(t, err)

	r, err := bus.Publish(ctx, b, orderPlacedEvt, orderPlaced{OrderID: "42"})
	require.NoError(t, err)
	require.Equal(t, 1, <-attempts)
	require.Equal(t, 2, <-attempts, "the failure was not recorded as done")
	waitSettled(t, b, sub, 10*time.Second)

	// Now it is done: a late copy (fresh Nats-Msg-Id) is acked unrun.
	publishCopy(t, b, r.ID, "late-copy", "42")
	waitSettled(t, b, sub, 10*time.Second)
	require.Empty(t, attempts)
}

func TestEndToEndDeadInstanceBlocksKeyOnlyForItsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := bustest.New(t, bus.WithSource("billing"))
	store, err := idempotency.NewKVStore(ctx, b.JetStream(), "billing_inbox")
	require.NoError(t, err)

	ran := make(chan time.Time, 10)
	sub, err := bus.Subscribe(ctx, b, orderPlacedEvt, "billing", func(context.Context, *bus.Message[orderPlaced]) error {
		ran <- time.Now()
		return nil
	}, bus.WithMaxDeliver(20), bus.Use(idempotency.Middleware(store, idempotency.WithBusyDelay(200*time.Millisecond))))
	require.NoError(t, err)

	// Another instance claimed the message and died: its claim is never
	// completed, released or renewed.
	id := envelope.NewID()
	const lease = 2 * time.Second
	dead, err := store.Claim(ctx, idempotency.Key{Scope: sub.Consumer(), Source: b.Source(), ID: id}, lease)
	require.NoError(t, err)
	require.Equal(t, idempotency.Acquired, dead.Status)

	publishCopy(t, b, id, id, "42")
	select {
	case at := <-ran:
		require.False(t, at.Before(dead.Until.Add(-250*time.Millisecond)), "ran %v before the dead claim's lease ended", dead.Until.Sub(at))
		require.Less(t, at.Sub(dead.Until), 5*time.Second, "the key stayed blocked long after the lease")
	case <-time.After(lease + 10*time.Second):
		t.Fatal("the handler never ran: the dead instance's claim blocks the key")
	}
	waitSettled(t, b, sub, 10*time.Second)
	require.Empty(t, ran, "ran once")
	c, err := store.Claim(ctx, idempotency.Key{Scope: sub.Consumer(), Source: b.Source(), ID: id}, lease)
	require.NoError(t, err)
	require.Equal(t, idempotency.Done, c.Status)
}

func TestEndToEndBusWideMiddlewareKeepsGroupsApart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := idempotency.NewMemoryStore()
	b := bustest.New(t, bus.WithSource("shop"), bus.WithMiddleware(idempotency.Middleware(store)))

	var billing, mailer atomic.Int64
	subs := map[string]*bus.Subscription{}
	for group, runs := range map[string]*atomic.Int64{"billing": &billing, "mailer": &mailer} {
		sub, err := bus.Subscribe(ctx, b, orderPlacedEvt, group, func(context.Context, *bus.Message[orderPlaced]) error {
			runs.Add(1)
			return nil
		})
		require.NoError(t, err)
		subs[group] = sub
	}
	id := envelope.NewID()
	for c := range 3 {
		publishCopy(t, b, id, id+"-"+strconv.Itoa(c), "42")
	}
	for _, sub := range subs {
		waitSettled(t, b, sub, 10*time.Second)
	}
	require.EqualValues(t, 1, billing.Load(), "billing handled the event once")
	require.EqualValues(t, 1, mailer.Load(), "mailer too: keys are scoped by consumer")
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
