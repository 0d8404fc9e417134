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
