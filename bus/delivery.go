package bus

import (
	"context"
	"log/slog"

	"github.com/choreo-bus/choreo/envelope"
)

// LastAttempt reports whether a failure now would dead-letter the message
// rather than retry it.
func (d *Delivery) LastAttempt() bool { return d.Attempt >= d.MaxDeliver }

// Delivery is one message as the untyped core sees it: the decoded envelope
// plus where it came from. Middleware receives a *Delivery; the typed
// Handler[T] receives a Message[T] built from it.
//
// A Delivery belongs to the goroutine running its handler; middleware may
// read it freely but must not keep it after the handler returns.
type Delivery struct {
	// Envelope holds the CloudEvents attributes and the raw payload bytes.
	Envelope *envelope.Envelope
	// WireSubject is the NATS subject the message was published on (the
	// CloudEvents subject, what the message is about, is Envelope.Subject).
	WireSubject string
	// Stream and Consumer name the JetStream stream and durable consumer
	// that delivered the message.
	Stream   string
	Consumer string
	// StreamSequence is the message's sequence in Stream.
	StreamSequence uint64
	// Attempt is the delivery count: 1 on the first delivery.
	Attempt int
	// MaxDeliver is the subscription's WithMaxDeliver: a failure when
	// Attempt == MaxDeliver dead-letters the message instead of retrying it.
	MaxDeliver int
	// Logger is the bus logger with the topic and consumer attached; add the
	// message's own attributes (Envelope.ID, Envelope.CorrelationID) per call.
	Logger *slog.Logger

	// payload is the decoded value of the typed handler (a *T), set before
	// the middleware chain runs so that undecodable payloads are dead-lettered
	// without reaching any middleware or handler.
	payload any
	// orderKey is the ordering key of a message of an ordered subscription
	// (WithOrdered), which its dead letter names; nil otherwise.
	orderKey *string
}

// HandlerFunc is the untyped core of every handler. Its return value decides
// the acknowledgement: nil acks; an error redelivers after the back-off;
// Permanent(err) dead-letters now; RetryAfter(err, d) redelivers after d.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Middleware wraps a HandlerFunc. Middleware given to WithMiddleware applies
// to every handler of a bus; middleware given to Use applies to one handler,
// inside the bus-wide ones. The first middleware in a list is the outermost.
type Middleware func(HandlerFunc) HandlerFunc

// chain wraps h in mws so that mws[0] runs first.
func chain(h HandlerFunc, mws ...Middleware) HandlerFunc {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
