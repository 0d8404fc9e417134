package bus_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

// Signup is the payload of the v1.user.signup command.
type Signup struct {
	Email string `json:"email"`
}

// SignedUp is the payload of the v1.user.signedup event.
type SignedUp struct {
	Email string `json:"email"`
}

var (
	userSignup   = topic.MustCommand[Signup]("v1.user.signup")
	userSignedUp = topic.MustEvent[SignedUp]("v1.user.signedup")
)

// startExample starts a throwaway server and a bus on it for one example.
func startExample(source string, opts ...bus.Option) (*bus.Bus, func()) {
	ctx := context.Background()
	srv, err := embedded.Start(ctx)
	if err != nil {
		panic(err)
	}
	b, err := bus.Connect(ctx, srv.ClientURL(), append([]bus.Option{bus.WithSource(source)}, opts...)...)
	if err != nil {
		panic(err)
	}
	return b, func() {
		_ = b.Close(ctx)
		srv.Shutdown()
	}
}

// Send a command and wait for the broker to store it.
func ExampleSend() {
	b, stop := startExample("web")
	defer stop()

	r, err := bus.Send(context.Background(), b, userSignup, Signup{Email: "ada@example.com"})
	if err != nil {
		fmt.Println("send:", err)
		return
	}
	fmt.Println("stored in", r.Stream, "at", r.Sequence, "duplicate:", r.Duplicate)
	// Output: stored in CMD_user at 1 duplicate: false
}

// Handle a command: every instance of the "accounts" service shares the
// work, and each command is handled once.
func ExampleHandleCommand() {
	b, stop := startExample("accounts")
	defer stop()
	ctx := context.Background()

	done := make(chan string)
	sub, err := bus.HandleCommand(ctx, b, userSignup, func(ctx context.Context, m *bus.Message[Signup]) error {
		done <- m.Data.Email
		return nil
	})
	if err != nil {
		fmt.Println("handle:", err)
		return
	}
	defer sub.Stop()

	if _, err := bus.Send(ctx, b, userSignup, Signup{Email: "ada@example.com"}); err != nil {
		fmt.Println("send:", err)
		return
	}
	fmt.Println("handled signup of", <-done)
	// Output: handled signup of ada@example.com
}

// Publish an event; every subscriber group receives it.
func ExamplePublish() {
	b, stop := startExample("accounts")
	defer stop()

	r, err := bus.Publish(context.Background(), b, userSignedUp, SignedUp{Email: "ada@example.com"})
	if err != nil {
		fmt.Println("publish:", err)
		return
	}
	fmt.Println("stored in", r.Stream)
	// Output: stored in EVT_user
}

// Publish many events as one fast-ingest batch (nats-server 2.14+): the
// server acknowledges every few hundred messages instead of each one, and
// Commit returns once all of them are stored.
func ExamplePublishBatch() {
	b, stop := startExample("importer")
	defer stop()
	ctx := context.Background()

	batch, err := bus.PublishBatch(ctx, b, userSignedUp)
	if err != nil {
		fmt.Println("batch:", err)
		return
	}
	for _, email := range []string{"ada@example.com", "grace@example.com", "edsger@example.com"} {
		if _, err := batch.Add(ctx, SignedUp{Email: email}); err != nil {
			// A *bus.BatchError says how many are stored; publish the
			// others again with their ids (bus.WithID).
			fmt.Println("add:", err)
			return
		}
	}
	r, err := batch.Commit(ctx)
	if err != nil {
		fmt.Println("commit:", err)
		return
	}
	fmt.Println(r.Count, "stored in", r.Stream, "up to sequence", r.LastSequence)
	// Output: 3 stored in EVT_user up to sequence 3
}

// Subscribe two groups to one event: each gets its own copy.
func ExampleSubscribe() {
	b, stop := startExample("accounts")
	defer stop()
	ctx := context.Background()

	got := make(chan string, 2)
	for _, group := range []string{"email", "metrics"} {
		_, err := bus.Subscribe(ctx, b, userSignedUp, group, func(ctx context.Context, m *bus.Message[SignedUp]) error {
			got <- group
			return nil
		})
		if err != nil {
			fmt.Println("subscribe:", err)
			return
		}
	}
	if _, err := bus.Publish(ctx, b, userSignedUp, SignedUp{Email: "ada@example.com"}); err != nil {
		fmt.Println("publish:", err)
		return
	}
	a, c := <-got, <-got
	fmt.Println(a == "email" || c == "email", a == "metrics" || c == "metrics")
	// Output: true true
}

// Middleware runs like the layers of an onion: bus-wide middleware
// (WithMiddleware) outside handler middleware (Use), the first of each list
// outermost.
func ExampleMiddleware() {
	ctx := context.Background()
	trace := func(name string) bus.Middleware {
		return func(next bus.HandlerFunc) bus.HandlerFunc {
			return func(ctx context.Context, d *bus.Delivery) error {
				fmt.Println("enter", name)
				err := next(ctx, d)
				fmt.Println("leave", name)
				return err
			}
		}
	}
	b, stop := startExample("accounts", bus.WithMiddleware(trace("bus-1"), trace("bus-2")))
	defer stop()

	done := make(chan struct{})
	sub, err := bus.HandleCommand(ctx, b, userSignup, func(ctx context.Context, m *bus.Message[Signup]) error {
		fmt.Println("handler")
		return nil
	}, bus.Use(trace("handler-1")), bus.Use(func(next bus.HandlerFunc) bus.HandlerFunc {
		return func(ctx context.Context, d *bus.Delivery) error {
			defer close(done)
			return next(ctx, d)
		}
	}))
	if err != nil {
		fmt.Println("handle:", err)
		return
	}
	if _, err := bus.Send(context.Background(), b, userSignup, Signup{}); err != nil {
		fmt.Println("send:", err)
		return
	}
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sub.Drain(ctx)
	// Output:
	// enter bus-1
	// enter bus-2
	// enter handler-1
	// handler
	// leave handler-1
	// leave bus-2
	// leave bus-1
}

// Permanent failures skip the retries and go straight to the dead letters.
func ExamplePermanent() {
	b, stop := startExample("accounts")
	defer stop()
	ctx := context.Background()

	_, err := bus.HandleCommand(ctx, b, userSignup, func(ctx context.Context, m *bus.Message[Signup]) error {
		return bus.Permanent(errors.New("email is not valid"))
	})
	if err != nil {
		fmt.Println("handle:", err)
		return
	}
	if _, err := bus.Send(ctx, b, userSignup, Signup{Email: "nope"}); err != nil {
		fmt.Println("send:", err)
		return
	}
	for {
		for dl, err := range b.DeadLetters(ctx, bus.DeadLetterFilter{Group: "accounts", Limit: 1}) {
			if err != nil {
				fmt.Println("dead letters:", err)
				return
			}
			fmt.Println(dl.Consumer, "gave up after", dl.Deliveries, "attempt:", dl.Reason)
			return
		}
		time.Sleep(20 * time.Millisecond) // not parked yet
	}
	// Output: accounts__v1_user_signup gave up after 1 attempt: permanent: email is not valid
}
