package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/idempotency"
)

// metrics counts sign-ups. It subscribes to the same v1.user.signedup as
// email, in a group of its own, so each of them gets every event: adding a
// subscriber changes nothing in accounts, which publishes the event.
type metrics struct {
	console *console
	signups atomic.Int64
}

// startMetrics makes the service count every v1.user.signedup on b.
func startMetrics(ctx context.Context, b *bus.Bus, c *console) (*metrics, error) {
	s := &metrics{console: c}
	// metrics runs as a single instance and its counters start from zero
	// when it restarts, so an inbox in memory is enough to keep a redelivered
	// event from being counted twice; email needs the shared KV store.
	inbox := idempotency.NewMemoryStore()
	_, err := bus.Subscribe(ctx, b, topics.UserSignedupV1Event, "metrics", s.count,
		bus.Use(c.outcomes("metrics"), idempotency.Middleware(inbox)))
	if err != nil {
		return nil, fmt.Errorf("metrics: subscribing to %s: %w", topics.TopicUserSignedupV1, err)
	}
	return s, nil
}

// count handles one v1.user.signedup event.
func (s *metrics) count(_ context.Context, m *bus.Message[topics.UserSignedupV1]) error {
	n := s.signups.Add(1)
	s.console.received("metrics", m.Envelope, "sign-ups counted: %d", n)
	return nil
}

// total is the number of sign-ups counted, as a metrics endpoint would
// report it.
func (s *metrics) total() int { return int(s.signups.Load()) }
