package idempotency_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/topic"
)

type OrderPlaced struct {
	OrderID string `json:"order_id"`
}

var OrderPlacedV1 = topic.MustEvent[OrderPlaced]("v1.order.placed")

// A billing service charges each order once, whichever of its instances
// gets the event and however many times it arrives.
func Example() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("billing"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close(ctx)

	// One bucket shared by every instance of the service.
	store, err := idempotency.NewKVStore(ctx, b.JetStream(), "billing_inbox")
	if err != nil {
		log.Fatal(err)
	}
	charged := make(chan string)
	_, err = bus.Subscribe(ctx, b, OrderPlacedV1, "billing",
		func(ctx context.Context, m *bus.Message[OrderPlaced]) error {
			charged <- m.Data.OrderID // the side effect
			return nil
		},
		bus.Use(idempotency.Middleware(store)),
	)
	if err != nil {
		log.Fatal(err)
	}

	id := envelope.NewID()
	if _, err := bus.Publish(ctx, b, OrderPlacedV1, OrderPlaced{OrderID: "42"}, bus.WithID(id)); err != nil {
		log.Fatal(err)
	}
	// A retry inside the duplicate window: the broker drops it.
	r, err := bus.Publish(ctx, b, OrderPlacedV1, OrderPlaced{OrderID: "42"}, bus.WithID(id))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retry dropped by the broker:", r.Duplicate)
	// The same event stored again, as after the duplicate window: the
	// middleware acks it without charging again.
	if err := publishAgain(ctx, b, id); err != nil {
		log.Fatal(err)
	}
	if _, err := bus.Publish(ctx, b, OrderPlacedV1, OrderPlaced{OrderID: "43"}); err != nil {
		log.Fatal(err)
	}
	// One handler at a time, in order: when 43 is charged, the copy of 42
	// has been dealt with.
	fmt.Println("charged", <-charged)
	fmt.Println("charged", <-charged)
	// Output:
	// retry dropped by the broker: true
	// charged 42
	// charged 43
}

// publishAgain stores a copy of the order-42 event under a fresh
// Nats-Msg-Id, which the broker cannot tell from a new message.
func publishAgain(ctx context.Context, b *bus.Bus, id string) error {
	msg := nats.NewMsg(topic.Subject(b.Namespace(), topic.KindEvent, OrderPlacedV1.Name()))
	err := envelope.Write(msg, &envelope.Envelope{
		ID: id, Source: b.Source(), Type: OrderPlacedV1.Name().String(), Time: time.Now(), // same producer, same id: the same event
		DataContentType: "application/json", Data: []byte(`{"order_id":"42"}`),
	})
	if err != nil {
		return err
	}
	msg.Header.Set(jetstream.MsgIDHeader, "copy-"+id)
	_, err = b.JetStream().PublishMsg(ctx, msg)
	return err
}

// WithKey dedupes by a business key: here the CloudEvents subject, which
// the publisher sets to the order number. Two distinct events about one
// order charge it once.
func ExampleWithKey() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("billing"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close(ctx)

	byOrder := idempotency.WithKey(func(d *bus.Delivery) string { return d.Envelope.Subject })
	charged := make(chan string)
	_, err = bus.Subscribe(ctx, b, OrderPlacedV1, "billing",
		func(ctx context.Context, m *bus.Message[OrderPlaced]) error {
			charged <- m.Data.OrderID
			return nil
		},
		bus.Use(idempotency.Middleware(idempotency.NewMemoryStore(), byOrder)),
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, order := range []string{"42", "42", "43"} {
		if _, err := bus.Publish(ctx, b, OrderPlacedV1, OrderPlaced{OrderID: order}, bus.WithSubject(order)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("charged", <-charged)
	fmt.Println("charged", <-charged)
	// Output:
	// charged 42
	// charged 43
}

// A store is used through Claim, Complete and Release; the middleware does
// this for every message. Here two instances of a service race for a key.
func ExampleNewKVStore() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	store, err := idempotency.NewKVStore(ctx, js, "billing_inbox")
	if err != nil {
		log.Fatal(err)
	}

	key := idempotency.Key{Scope: "billing", ID: "order-42"}
	first, _ := store.Claim(ctx, key, 30*time.Second)
	second, _ := store.Claim(ctx, key, 30*time.Second)
	fmt.Println("first instance:", first.Status)
	fmt.Println("second instance:", second.Status)
	if err := store.Complete(ctx, first, 24*time.Hour); err != nil {
		log.Fatal(err)
	}
	again, _ := store.Claim(ctx, key, 30*time.Second)
	fmt.Println("a later copy:", again.Status)
	// Output:
	// first instance: acquired
	// second instance: busy
	// a later copy: done
}
