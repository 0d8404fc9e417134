package bus_test

import (
	"context"
	"fmt"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// Reminder is the payload of the v1.email.remind command.
type Reminder struct {
	Email string `json:"email"`
}

var emailRemind = topic.MustCommand[Reminder]("v1.email.remind")

// Send a command that is handled a second from now. The server keeps it
// until then, across restarts of every service and of the server itself.
func ExampleWithDelay() {
	b, stop := startExample("email")
	defer stop()
	ctx := context.Background()

	handled := make(chan time.Time, 1)
	if _, err := bus.HandleCommand(ctx, b, emailRemind, func(ctx context.Context, m *bus.Message[Reminder]) error {
		handled <- time.Now()
		return nil
	}); err != nil {
		fmt.Println("handle:", err)
		return
	}

	sent := time.Now()
	if _, err := bus.Send(ctx, b, emailRemind, Reminder{Email: "ada@example.com"}, bus.WithDelay(time.Second)); err != nil {
		fmt.Println("send:", err)
		return
	}
	fmt.Println("handled a second later or more:", (<-handled).Sub(sent) >= time.Second)
	// Output: handled a second later or more: true
}

// Payment is the payload of the v1.payment.* topics.
type Payment struct {
	OrderID string `json:"order_id"`
}

var (
	paymentCaptureCmd  = topic.MustCommand[Payment]("v1.payment.capture")
	paymentCapturedEvt = topic.MustEvent[Payment]("v1.payment.captured")
	paymentFailedEvt   = topic.MustEvent[Payment]("v1.payment.failed")
)

// An HTTP handler at the edge sends a command and waits for its outcome.
// The payments service publishes the event with its handler's ctx, so the
// event continues the command's correlation chain.
func ExampleSendAndAwait() {
	b, stop := startExample("payments")
	defer stop()
	ctx := context.Background()

	if _, err := bus.HandleCommand(ctx, b, paymentCaptureCmd, func(ctx context.Context, m *bus.Message[Payment]) error {
		_, err := bus.Publish(ctx, b, paymentCapturedEvt, m.Data)
		return err
	}); err != nil {
		fmt.Println("handle:", err)
		return
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := bus.SendAndAwait(ctx, b, paymentCaptureCmd, Payment{OrderID: "o-1"}, paymentCapturedEvt)
	if err != nil {
		fmt.Println("await:", err)
		return
	}
	fmt.Println("captured", m.Data.OrderID)
	// Output: captured o-1
}

// Await whichever of two outcomes comes first, and tell them apart.
func ExampleSendAndAwaitAny() {
	b, stop := startExample("payments")
	defer stop()
	ctx := context.Background()

	if _, err := bus.HandleCommand(ctx, b, paymentCaptureCmd, func(ctx context.Context, m *bus.Message[Payment]) error {
		_, err := bus.Publish(ctx, b, paymentFailedEvt, m.Data) // the card was declined
		return err
	}); err != nil {
		fmt.Println("handle:", err)
		return
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	o, err := bus.SendAndAwaitAny(ctx, b, paymentCaptureCmd, Payment{OrderID: "o-2"},
		[]bus.Awaited{bus.Await(paymentCapturedEvt), bus.Await(paymentFailedEvt)})
	if err != nil {
		fmt.Println("await:", err)
		return
	}
	if m, ok, err := bus.OutcomeOf(o, paymentFailedEvt); ok && err == nil {
		fmt.Println("failed", m.Data.OrderID)
	}
	// Output: failed o-2
}

// Call a rate-limited downstream API at most five times a second from
// each instance, in bursts of up to two.
func ExampleWithRateLimit() {
	b, stop := startExample("email")
	defer stop()
	ctx := context.Background()

	const n = 6
	done := make(chan struct{}, n)
	start := time.Now()
	if _, err := bus.HandleCommand(ctx, b, emailRemind, func(ctx context.Context, m *bus.Message[Reminder]) error {
		done <- struct{}{} // call the mail provider here
		return nil
	}, bus.WithRateLimit(5, 2)); err != nil {
		fmt.Println("handle:", err)
		return
	}
	for range n {
		if _, err := bus.Send(ctx, b, emailRemind, Reminder{Email: "ada@example.com"}); err != nil {
			fmt.Println("send:", err)
			return
		}
	}
	for range n {
		<-done
	}
	// Two at once, then one every 200 ms: at least 800 ms for six.
	fmt.Println("took at least 800ms:", time.Since(start) >= 800*time.Millisecond)
	// Output: took at least 800ms: true
}
