package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// OrderLine is the payload of the v1.order.lineadded event.
type OrderLine struct {
	Order string `json:"order"`
	Line  int    `json:"line"`
}

var orderLineAdded = topic.MustEvent[OrderLine]("v1.order.lineadded")

// Handle the events of one order one at a time and in publish order, on
// whichever instance of the group runs, while other orders go ahead. The
// key is the CloudEvents subject (WithSubject); a failing message is
// retried in place, so the order's later lines wait for it.
func ExampleWithOrdered() {
	b, stop := startExample("billing")
	defer stop()
	ctx := context.Background()

	var mu sync.Mutex
	seen := map[string][]int{}
	done := make(chan struct{})
	failed := false
	_, err := bus.Subscribe(ctx, b, orderLineAdded, "invoices", func(ctx context.Context, m *bus.Message[OrderLine]) error {
		mu.Lock()
		defer mu.Unlock()
		if m.Data.Order == "o-1" && m.Data.Line == 1 && !failed {
			failed = true
			return errors.New("ledger busy") // retried in place after the back-off
		}
		seen[m.Data.Order] = append(seen[m.Data.Order], m.Data.Line)
		if len(seen["o-1"])+len(seen["o-2"]) == 6 {
			close(done)
		}
		return nil
	}, bus.WithOrdered(), bus.WithConcurrency(8), bus.WithBackoff(50*time.Millisecond))
	if err != nil {
		fmt.Println("subscribe:", err)
		return
	}
	for line := range 3 {
		for _, order := range []string{"o-1", "o-2"} {
			if _, err := bus.Publish(ctx, b, orderLineAdded, OrderLine{Order: order, Line: line}, bus.WithSubject(order)); err != nil {
				fmt.Println("publish:", err)
				return
			}
		}
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	fmt.Println("o-1:", seen["o-1"], "o-2:", seen["o-2"])
	// Output: o-1: [0 1 2] o-2: [0 1 2]
}

// Stop the whole group, on every instance, while the mail server is down,
// instead of burning the backlog into the dead letters: after 5
// consecutive failures the group's consumer is paused on the server; every
// 30 seconds one message is tried, and consumption resumes when it
// succeeds. Only errors from the mail server count.
func ExampleWithCircuitBreaker() {
	b, stop := startExample("mailer")
	defer stop()
	errMailDown := errors.New("mail server unavailable")
	sendMail := func(context.Context, string) error { return nil }

	_, err := bus.Subscribe(context.Background(), b, userSignedUp, "welcome-mail", func(ctx context.Context, m *bus.Message[SignedUp]) error {
		if err := sendMail(ctx, m.Data.Email); err != nil {
			return fmt.Errorf("%w: %v", errMailDown, err)
		}
		return nil
	}, bus.WithCircuitBreaker(5, 30*time.Second, bus.BreakOn(func(err error) bool { return errors.Is(err, errMailDown) })))
	if err != nil {
		fmt.Println("subscribe:", err)
		return
	}
	for _, st := range b.Status(context.Background()) {
		fmt.Println(st.Consumer, st.State, "breaker", st.Breaker)
	}
	// Output: welcome-mail__v1_user_signedup consuming breaker closed
}
