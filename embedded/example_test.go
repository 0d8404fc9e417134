package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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

// Start a server from a nats-server configuration file: here one user,
// whose password the file takes from the environment.
func ExampleWithConfigFile() {
	dir, err := os.MkdirTemp("", "choreo-example-*")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "server.conf")
	_ = os.WriteFile(conf, []byte(`authorization { users = [ { user: "app", password: $EXAMPLE_APP_PASSWORD } ] }`), 0o600)
	os.Setenv("EXAMPLE_APP_PASSWORD", "s3cret")
	defer os.Unsetenv("EXAMPLE_APP_PASSWORD")

	srv, err := embedded.Start(context.Background(), embedded.WithConfigFile(conf))
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("app", "s3cret"))
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	defer nc.Close()
	fmt.Println("connected as app:", nc.IsConnected())
	// Output: connected as app: true
}
