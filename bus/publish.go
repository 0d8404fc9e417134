package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Receipt is the broker's acknowledgement of a stored message.
type Receipt struct {
	// ID is the message's CloudEvents id (also its Nats-Msg-Id).
	ID string
	// Stream and Sequence locate the stored message.
	Stream   string
	Sequence uint64
	// Duplicate is true when the stream already had a message with this ID
	// inside its duplicate window: the publish was dropped, and Sequence is
	// the original's.
	Duplicate bool
}

// PublishOption configures one Send or Publish.
type PublishOption func(*publishConfig)

type publishConfig struct {
	id            string
	subject       string
	correlationID string
}

// WithID sets the message's CloudEvents id (and Nats-Msg-Id) instead of a
// new UUIDv7. Use it to make a retried publish idempotent: the stream drops
// a second message with the same id inside its duplicate window.
func WithID(id string) PublishOption { return func(p *publishConfig) { p.id = id } }

// WithSubject sets ce-subject, the thing the message is about (a user id, an
// order number), so consumers and tools can filter or group by it without
// decoding the payload.
func WithSubject(s string) PublishOption { return func(p *publishConfig) { p.subject = s } }

// WithCorrelationID starts or continues a chain under an id from outside the
// bus (an HTTP request id, say). Inside a handler the incoming correlation id
// is used automatically; this option overrides it.
func WithCorrelationID(id string) PublishOption {
	return func(p *publishConfig) { p.correlationID = id }
}

// Send sends a command to the one handler group of its topic and waits for
// the broker to store it. Inside a handler, pass the handler's ctx so the
// command continues the incoming message's correlation chain.
func Send[T any](ctx context.Context, b *Bus, c topic.Command[T], data T, opts ...PublishOption) (Receipt, error) {
	return b.publishSync(ctx, topic.KindCommand, c.Name(), data, opts)
}

// Publish publishes an event to every subscriber group of its topic and
// waits for the broker to store it. Inside a handler, pass the handler's ctx
// so the event continues the incoming message's correlation chain.
func Publish[T any](ctx context.Context, b *Bus, e topic.Event[T], data T, opts ...PublishOption) (Receipt, error) {
	return b.publishSync(ctx, topic.KindEvent, e.Name(), data, opts)
}

func (b *Bus) publishSync(ctx context.Context, k topic.Kind, n topic.Name, data any, opts []PublishOption) (Receipt, error) {
	if err := b.enter(ctx); err != nil {
		return Receipt{}, err
	}
	defer b.leave()
	msg, r, id, err := b.prepare(ctx, k, n, data, opts)
	if err != nil {
		return Receipt{}, err
	}
	ack, err := b.js.PublishMsg(ctx, msg)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		// The stream vanished since we provisioned it: provision again, once.
		b.streams.forget(k, n, r.stream)
		if r, err = b.streams.route(ctx, k, n); err == nil {
			msg.Subject = r.subject
			ack, err = b.js.PublishMsg(ctx, msg)
		}
	}
	if err != nil {
		return Receipt{ID: id}, publishError(n, err)
	}
	return Receipt{ID: id, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// prepare encodes a payload into a CloudEvents message on its route.
func (b *Bus) prepare(ctx context.Context, k topic.Kind, n topic.Name, data any, opts []PublishOption) (*nats.Msg, *route, string, error) {
	r, err := b.streams.route(ctx, k, n)
	if err != nil {
		return nil, nil, "", err
	}
	pc := applyPublishOptions(opts)
	body, err := b.cfg.codec.Marshal(data)
	if err != nil {
		return nil, nil, "", fmt.Errorf("choreo/bus: encoding %s payload: %w", n, err)
	}
	env := envelope.Envelope{
		ID:              pc.id,
		Source:          b.cfg.source,
		Type:            n.String(),
		Subject:         pc.subject,
		Time:            time.Now(),
		DataContentType: b.cfg.codec.ContentType(),
		Data:            body,
	}
	if env.ID == "" {
		env.ID = envelope.NewID()
	}
	chainFrom(ctx, &env, pc.correlationID)
	msg := &nats.Msg{Subject: r.subject} // envelope.Write sizes the header itself
	if err := envelope.Write(msg, &env); err != nil {
		return nil, nil, "", fmt.Errorf("choreo/bus: %s: %w", n, err)
	}
	return msg, r, env.ID, nil
}

// applyPublishOptions returns the options' config by value. The config
// escapes to the heap when options are applied to it (they are opaque
// functions), so the common call without options skips that allocation.
func applyPublishOptions(opts []PublishOption) publishConfig {
	if len(opts) == 0 {
		return publishConfig{}
	}
	pc := new(publishConfig)
	for _, o := range opts {
		o(pc)
	}
	return *pc
}

func publishError(n topic.Name, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("choreo/bus: publishing %s: %w (%w)", n, ErrClosed, err)
	}
	return fmt.Errorf("choreo/bus: publishing %s: %w", n, err)
}

// deliveryKey carries the *Delivery being handled in a handler's context.
type deliveryKey struct{}

// DeliveryFrom returns the delivery a handler's ctx belongs to, or nil
// outside a handler. Middleware and helpers use it to read the incoming
// message's attributes.
func DeliveryFrom(ctx context.Context) *Delivery {
	d, _ := ctx.Value(deliveryKey{}).(*Delivery)
	return d
}

// chainFrom sets the correlation and causation ids of an outgoing message:
// inside a handler it continues the incoming chain, outside it starts one
// whose correlation id is the message's own id.
func chainFrom(ctx context.Context, env *envelope.Envelope, correlationID string) {
	if in := DeliveryFrom(ctx); in != nil && in.Envelope != nil {
		env.CorrelationID = in.Envelope.CorrelationID
		if env.CorrelationID == "" {
			env.CorrelationID = in.Envelope.ID
		}
		env.CausationID = in.Envelope.ID
		if tp := in.Envelope.Extensions["traceparent"]; tp != "" {
			env.Extensions = map[string]string{"traceparent": tp}
		}
	}
	if correlationID != "" {
		env.CorrelationID = correlationID
	}
	if env.CorrelationID == "" {
		env.CorrelationID = env.ID
	}
}
