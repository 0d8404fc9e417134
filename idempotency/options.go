package idempotency

import (
	"log/slog"
	"time"

	"github.com/choreo-bus/choreo/bus"
)

// Defaults of the middleware options.
const (
	// DefaultLease is how long a claim holds a key before it must be
	// renewed; the middleware renews it every third of the lease while the
	// handler runs.
	DefaultLease = 30 * time.Second
	// DefaultRetention is how long a done key is remembered.
	DefaultRetention = 24 * time.Hour
	// DefaultBusyDelay is the first redelivery delay of a message whose key
	// another instance is processing. Doubled per attempt (2s, 4s, 8s, 16s),
	// the four redeliveries the bus's default WithMaxDeliver(5) allows before
	// the last attempt span 30s: the default lease, ack wait and handler
	// timeout, by which time a live holder has finished.
	DefaultBusyDelay = 2 * time.Second
)

// Option configures Middleware.
type Option func(*config)

type config struct {
	key       func(*bus.Delivery) string
	bySource  bool // the key is the message's: qualify it with ce-source
	scope     func(*bus.Delivery) string
	lease     time.Duration
	retention time.Duration
	busyDelay time.Duration
	failOpen  bool
	logger    *slog.Logger
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.key == nil {
		c.key, c.bySource = messageID, true
	}
	if c.scope == nil {
		c.scope = consumerName
	}
	if c.lease <= 0 {
		c.lease = DefaultLease
	}
	if c.retention <= 0 {
		c.retention = DefaultRetention
	}
	if c.busyDelay <= 0 {
		c.busyDelay = DefaultBusyDelay
	}
	return c
}

func messageID(d *bus.Delivery) string {
	if d.Envelope == nil {
		return ""
	}
	return d.Envelope.ID
}

func consumerName(d *bus.Delivery) string { return d.Consumer }

// WithKey derives the dedupe key from a message, for work whose identity is
// a business fact rather than a message: WithKey(func(d *bus.Delivery)
// string { return d.Envelope.Subject }) runs a handler once per order
// number, however many distinct events about it arrive. The key is scoped
// by WithScope. A message whose key is "" is dead-lettered with ErrNoKey.
// The function runs on every delivery, concurrently; keep it cheap. Default:
// the message's ce-id (Envelope.ID) together with its ce-source
// (Key.Source), which CloudEvents says identify an event together.
func WithKey(f func(*bus.Delivery) string) Option {
	return func(c *config) { c.key = f }
}

// WithScope sets the namespace of keys (Key.Scope), so that handlers
// sharing a store do not meet. Default: the durable consumer's name
// (Delivery.Consumer), which keeps each subscriber group's records apart;
// return a constant to dedupe across consumers.
func WithScope(f func(*bus.Delivery) string) Option {
	return func(c *config) { c.scope = f }
}

// WithLease sets how long a claim holds a key. The middleware renews the
// lease every third of it while the handler runs, so the lease does not
// bound the handler's run time; it bounds how long a key stays blocked
// after the instance holding it died. Keep it at most the subscription's
// ack wait (then the broker's redelivery of a dead instance's message finds
// the key free) and well above the store's round trip. Default DefaultLease;
// d <= 0 means the default. The KV store rounds it up to whole seconds.
func WithLease(d time.Duration) Option {
	return func(c *config) { c.lease = d }
}

// WithRetention sets how long a done key is remembered: duplicates arriving
// later run the handler again. Cover the longest gap you expect between
// copies of one message: publisher retries, dead-letter redeliveries,
// replays. Default DefaultRetention; d <= 0 means the default.
func WithRetention(d time.Duration) Option {
	return func(c *config) { c.retention = d }
}

// WithBusyDelay sets the first redelivery delay of a message whose key
// another instance holds; it doubles with each delivery attempt and never
// exceeds the time left on the holder's lease (plus 100ms). Every such
// redelivery counts as a delivery attempt (bus.WithMaxDeliver): if handlers
// may run longer than the lease, raise MaxDeliver so that a copy waiting for
// them is not dead-lettered (a dead-lettered copy is harmless: redelivered,
// it is acked as a duplicate). Default DefaultBusyDelay; d <= 0 means the
// default.
func WithBusyDelay(d time.Duration) Option {
	return func(c *config) { c.busyDelay = d }
}

// WithFailOpen runs the handler unguarded when the store cannot be reached,
// trading exactly-once effects for availability; each such run is logged
// at Warn. Default: fail closed, return an error matching
// ErrStoreUnavailable and let the broker redeliver the message later.
func WithFailOpen() Option {
	return func(c *config) { c.failOpen = true }
}

// WithLogger sets where the middleware logs (duplicates at Debug, store
// trouble at Warn and Error). Default: the bus logger of each delivery
// (Delivery.Logger), which carries the message's attributes.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
