package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Message is what a typed handler receives: the decoded payload and the
// CloudEvents envelope it came in.
type Message[T any] struct {
	Data     T
	Envelope *envelope.Envelope
	Attempt  int // 1 on first delivery
}

// Handler handles one message of type T. Its return value decides the
// acknowledgement: nil acks; an error redelivers after the back-off;
// Permanent(err) dead-letters now; RetryAfter(err, d) redelivers after d; a
// failure on the last allowed attempt dead-letters. A handler may run
// concurrently with itself (WithConcurrency) and on several instances.
type Handler[T any] func(ctx context.Context, m *Message[T]) error

// SubscribeOption configures HandleCommand and Subscribe.
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	concurrency    int
	prefetch       int
	maxDeliver     int
	backoff        []time.Duration
	ackWait        time.Duration
	handlerTimeout time.Duration
	middleware     []Middleware
	deliverNew     bool
	rate           *rateLimit     // WithRateLimit (ratelimit.go)
	ordered        *orderedConfig // WithOrdered, WithOrderKey (ordered.go)
	breaker        *breakerConfig // WithCircuitBreaker (breaker.go)
}

func defaultSubscribeConfig() subscribeConfig {
	return subscribeConfig{
		concurrency: 1,
		maxDeliver:  5,
		backoff:     []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute},
		ackWait:     30 * time.Second,
	}
}

// WithConcurrency runs up to n handlers of this subscription at once on this
// instance. By default the client buffers at most n messages, and one that
// waited for a worker is marked in progress before its handler starts, so
// no message outlives its ack wait in the buffer (see WithPrefetch for
// more throughput). Default: 1, which handles
// messages one at a time per instance, but promises no order: a failed
// message comes back after its back-off, behind later ones, and other
// instances run in parallel. WithOrdered keeps each key in order.
func WithConcurrency(n int) SubscribeOption { return func(c *subscribeConfig) { c.concurrency = n } }

// WithPrefetch lets the client hold up to n messages ahead of the workers
// (at least the concurrency), so it pulls them in fewer, larger requests:
// several times the throughput for handlers that take microseconds to
// milliseconds. A prefetched message's ack wait runs while it waits, so keep
// n × (handler time) / concurrency well under the ack wait; a message that
// waits longer may be redelivered and handled twice. Default: the
// concurrency, which no handler duration can make unsafe.
func WithPrefetch(n int) SubscribeOption { return func(c *subscribeConfig) { c.prefetch = n } }

// WithMaxDeliver sets how many times a message is delivered before it is
// dead-lettered. Default: 5.
func WithMaxDeliver(n int) SubscribeOption { return func(c *subscribeConfig) { c.maxDeliver = n } }

// WithBackoff sets the delays before redelivery after a failed attempt: the
// first after attempt 1, and so on; the last repeats. Default: 1s, 5s, 30s,
// 2m.
func WithBackoff(d ...time.Duration) SubscribeOption {
	return func(c *subscribeConfig) { c.backoff = append([]time.Duration(nil), d...) }
}

// WithAckWait sets how long the server waits for a handler's outcome before
// it redelivers the message (to this or another instance). Default: 30s.
func WithAckWait(d time.Duration) SubscribeOption { return func(c *subscribeConfig) { c.ackWait = d } }

// WithHandlerTimeout bounds one handler run; its context is cancelled at
// the deadline. Longer than the ack wait, the bus keeps the message with
// this instance by telling the server the work is in progress every half
// ack wait. Default: the ack wait.
func WithHandlerTimeout(d time.Duration) SubscribeOption {
	return func(c *subscribeConfig) { c.handlerTimeout = d }
}

// Use adds middleware to this handler only, inside the bus-wide middleware
// (WithMiddleware). The first is the outermost.
func Use(m ...Middleware) SubscribeOption {
	return func(c *subscribeConfig) { c.middleware = append(c.middleware, m...) }
}

// WithDeliverNew makes a new subscriber group start with events published
// after it was created, instead of every event still in the stream. It
// applies when the group's consumer is created; changing it later is an
// ErrIncompatible error. Default: off (a new group reads the retained
// history, so nothing published before its first deploy is missed).
func WithDeliverNew() SubscribeOption { return func(c *subscribeConfig) { c.deliverNew = true } }

func (c *subscribeConfig) validate() error {
	switch {
	case c.concurrency < 1 || c.concurrency > 10000:
		return fmt.Errorf("%w: concurrency %d: use 1 to 10000", ErrInvalidOption, c.concurrency)
	case c.prefetch < 0 || c.prefetch > 100000:
		return fmt.Errorf("%w: prefetch %d: use 0 (the concurrency) to 100000", ErrInvalidOption, c.prefetch)
	case c.maxDeliver < 1:
		return fmt.Errorf("%w: max deliver %d: use at least 1", ErrInvalidOption, c.maxDeliver)
	case len(c.backoff) == 0:
		return fmt.Errorf("%w: back-off needs at least one delay", ErrInvalidOption)
	case c.ackWait < time.Second:
		return fmt.Errorf("%w: ack wait %s: use at least 1s", ErrInvalidOption, c.ackWait)
	case c.handlerTimeout < 0:
		return fmt.Errorf("%w: handler timeout %s is negative", ErrInvalidOption, c.handlerTimeout)
	}
	for i, d := range c.backoff {
		if d < 0 {
			return fmt.Errorf("%w: back-off delay %d is negative (%s)", ErrInvalidOption, i, d)
		}
	}
	for i, m := range c.middleware {
		if m == nil {
			return fmt.Errorf("%w: middleware %d is nil", ErrInvalidOption, i)
		}
	}
	if err := c.rate.validate(); err != nil {
		return err
	}
	if err := c.validateFlow(); err != nil {
		return err
	}
	if c.handlerTimeout == 0 {
		c.handlerTimeout = c.ackWait
	}
	c.prefetch = max(c.prefetch, c.concurrency)
	return nil
}

// HandleCommand runs h for every command of c. Every instance of the
// service (same WithSource) shares one durable consumer, so each command is
// handled once. A command has exactly one handling service: a second service
// trying to handle it gets an ErrIncompatible error.
//
// ctx bounds the set-up only (creating or checking the stream and the
// consumer on the server); the subscription then runs until Stop, Drain or
// the bus's Close.
func HandleCommand[T any](ctx context.Context, b *Bus, c topic.Command[T], h Handler[T], opts ...SubscribeOption) (*Subscription, error) {
	return subscribeTyped(ctx, b, topic.KindCommand, c.Name(), b.cfg.source, h, opts)
}

// Subscribe runs h for every event of e in the subscriber group group.
// Every group receives every event; instances of one group share them, each
// event handled once per group. An empty group means the bus's source.
// Group names use letters, digits, '-' and '_'.
//
// ctx bounds the set-up only, as for HandleCommand.
func Subscribe[T any](ctx context.Context, b *Bus, e topic.Event[T], group string, h Handler[T], opts ...SubscribeOption) (*Subscription, error) {
	if group == "" {
		group = b.cfg.source
	}
	return subscribeTyped(ctx, b, topic.KindEvent, e.Name(), group, h, opts)
}

func subscribeTyped[T any](ctx context.Context, b *Bus, k topic.Kind, n topic.Name, group string, h Handler[T], opts []SubscribeOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: handler for %s is nil", ErrInvalidOption, n)
	}
	codec := b.cfg.codec
	decode := func(d *Delivery) error {
		m := &Message[T]{Envelope: d.Envelope, Attempt: d.Attempt}
		if err := codec.Unmarshal(d.Envelope.Data, &m.Data); err != nil {
			return fmt.Errorf("%w: payload of %s does not decode into %T: %v", ErrDecode, n, m.Data, err)
		}
		d.payload = m
		return nil
	}
	inner := func(ctx context.Context, d *Delivery) (err error) {
		defer recoverPanic(&err, d)
		return h(ctx, d.payload.(*Message[T]))
	}
	return b.subscribe(ctx, k, n, group, decode, inner, opts)
}
