package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

// A subscription whose client stopped pulling (nats.go's consume loop
// ending silently, a known pull-consumer failure) is reported as stalled,
// not hidden.
func TestHealthReportsAStalledSubscription(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := embedded.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	b, err := Connect(ctx, srv.ClientURL(), WithSource("stall"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	evt := topic.MustEvent[struct{}]("v1.user.signedup")
	sub, err := Subscribe(ctx, b, evt, "g", func(context.Context, *Message[struct{}]) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Health(ctx); err != nil {
		t.Fatalf("healthy subscription reported: %v", err)
	}
	// Stop pulling behind the subscription's back.
	sub.mu.Lock()
	sub.cc.Stop()
	sub.mu.Unlock()
	deadline := time.Now().Add(time.Minute)
	for {
		err := b.Health(ctx)
		if errors.Is(err, ErrUnhealthy) {
			if st := b.Status(ctx); len(st) != 1 || st[0].State != StateStalled {
				t.Fatalf("Health says %v but Status says %+v", err, st)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a subscription that stopped pulling was not reported within a minute")
		}
		time.Sleep(500 * time.Millisecond) // the stall shows only after the pull request expires
	}
}
