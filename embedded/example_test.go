package embedded_test

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/embedded"
)

// Start a throwaway JetStream server and connect to it.
func ExampleStart() {
	srv, err := embedded.Start(context.Background())
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer srv.Shutdown()

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	defer nc.Close()
	fmt.Println("connected:", nc.IsConnected())
	// Output: connected: true
}
