package bus_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// An operator provisions what a group needs; the service, running without
// provisioning rights, then only looks it up.
func ExampleBus_Provision() {
	operator, stop := startExample("operator")
	defer stop()
	ctx := context.Background()

	service, err := bus.New(operator.Conn(), bus.WithSource("email"), bus.WithoutProvisioning())
	if err != nil {
		panic(err)
	}
	_, err = bus.Subscribe(ctx, service, userSignedUp, "", func(context.Context, *bus.Message[SignedUp]) error { return nil })
	fmt.Println("before provisioning:", errors.Is(err, bus.ErrNotProvisioned))

	changes, err := operator.Provision(ctx, bus.Requirement{Kind: topic.KindEvent, Topic: userSignedUp.Name(), Group: "email"}, false)
	if err != nil {
		panic(err)
	}
	for _, c := range changes {
		fmt.Println(c)
	}
	_, err = bus.Subscribe(ctx, service, userSignedUp, "", func(context.Context, *bus.Message[SignedUp]) error { return nil })
	fmt.Println("after provisioning:", err)
	_ = service.Close(ctx)
	// Output:
	// before provisioning: true
	// create stream EVT_user
	// create consumer email__v1_user_signedup on EVT_user
	// create stream DLQ
	// create stream EVT_user_MAXDELIVERIES
	// create consumer email__v1_user_signedup on EVT_user_MAXDELIVERIES
	// after provisioning: <nil>
}
