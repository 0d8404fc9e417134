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
	// ID is the message's CloudEvents id (its Nats-Msg-Id is the source and
	// this id, see envelope.MsgID).
	ID string
	// Stream and Sequence locate the stored message.
	Stream   string
	Sequence uint64
	// Duplicate is true when the stream already had a message with this ID
	// inside its duplicate window: the publish was dropped, and Sequence is
	// the original's. That is also the case when the connection broke after
	// the message was stored and the bus published it again.
	Duplicate bool
}

// PublishOption configures one Send or Publish.
type PublishOption func(*publishConfig)

type publishConfig struct {
	id            string
	subject       string
	correlationID string
	extensions    map[string]string
	timing        uint8 // see schedule.go
	delay         time.Duration
	deliverAt     time.Time
}

// WithID sets the message's CloudEvents id instead of a new UUIDv7. Use it
// to make a retried publish idempotent: the stream drops a second message
// of this service with the same id inside its duplicate window (another
// service's message with the same id is another event).
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

// WithExtension sets the CloudEvents extension attribute name to value on
// this message (carried as header ce-<name>). Names are lower-case ASCII
// letters and digits, and not a core attribute or correlationid/causationid
// (use WithCorrelationID); the value is text without control characters.
// An invalid name or value fails the Send or Publish with an error
// matching envelope.ErrMalformed. Given twice for one name, the last wins.
func WithExtension(name, value string) PublishOption {
	return func(p *publishConfig) {
		if p.extensions == nil {
			p.extensions = make(map[string]string, 1)
		}
		p.extensions[name] = value
	}
}

// Send sends a command to the one handler group of its topic and waits for
// the broker to store it. Inside a handler, pass the handler's ctx so the
// command continues the incoming message's correlation chain.
//
// A connection that breaks while Send writes or waits is not its error: the
// bus publishes the message again (same id, so the stream keeps one copy)
// once the client is reconnecting, where it waits in the reconnect buffer,
// until it is stored or ctx is done. An error therefore means ctx ended (or
// the bus closed, or the broker refused the message); the message may still
// have been stored, so retry with its id (WithID).
func Send[T any](ctx context.Context, b *Bus, c topic.Command[T], data T, opts ...PublishOption) (Receipt, error) {
	return b.publishSync(ctx, topic.KindCommand, c.Name(), data, opts)
}

// Publish publishes an event to every subscriber group of its topic and
// waits for the broker to store it. Inside a handler, pass the handler's ctx
// so the event continues the incoming message's correlation chain. A
// connection that breaks meanwhile is not its error; see Send.
func Publish[T any](ctx context.Context, b *Bus, e topic.Event[T], data T, opts ...PublishOption) (Receipt, error) {
	return b.publishSync(ctx, topic.KindEvent, e.Name(), data, opts)
}

func (b *Bus) publishSync(ctx context.Context, k topic.Kind, n topic.Name, data any, opts []PublishOption) (Receipt, error) {
	if err := b.enter(ctx); err != nil {
		return Receipt{}, err
	}
	defer b.leave()
	p, err := b.prepare(ctx, k, n, data, opts, false)
	if err != nil {
		return Receipt{}, err
	}
	r, err := b.publishPrepared(ctx, k, n, p)
	if p.hooks != nil {
		b.hooks.afterPublish(p.hooks, r, err)
	}
	return r, err
}

func (b *Bus) publishPrepared(ctx context.Context, k topic.Kind, n topic.Name, p prepared) (Receipt, error) {
	ack, err := b.js.PublishMsg(ctx, p.msg)
	if err != nil {
		ack, err = b.republish(ctx, k, n, p, err)
	}
	if err != nil {
		return Receipt{ID: p.id}, publishError(n, err)
	}
	return Receipt{ID: p.id, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// republish publishes p again after a failure that was not the message's:
// the stream vanished since it was provisioned, or was recreated without
// the schedules a delayed message needs (provision it again, once),
// or the connection broke under the write or before the acknowledgement
// came (again, within ctx; see connloss.go). It returns the last error when
// it gives up.
func (b *Bus) republish(ctx context.Context, k topic.Kind, n topic.Name, p prepared, err error) (*jetstream.PubAck, error) {
	var ack *jetstream.PubAck
	var lost connRetry
	reprovisioned := false
	for err != nil {
		if (errors.Is(err, jetstream.ErrNoStreamResponse) || (p.scheduled && schedulesDisabled(err))) && !reprovisioned {
			reprovisioned = true
			b.streams.forget(k, n, p.route.stream)
			r, rerr := b.streams.route(ctx, k, n)
			if rerr != nil {
				return nil, rerr
			}
			if err := b.reroute(ctx, r, &p); err != nil {
				return nil, err
			}
		} else {
			again, werr := lost.again(ctx, b.nc, err)
			if werr != nil {
				return nil, werr
			}
			if !again {
				return nil, err
			}
		}
		ack, err = b.js.PublishMsg(ctx, p.msg)
	}
	return ack, nil
}

// prepared is a message ready to be written.
type prepared struct {
	msg       *nats.Msg
	route     *route
	id        string
	scheduled bool          // on a schedule subject, delivered later (schedule.go)
	hooks     *publishState // nil without publish hooks
}

// prepare encodes a payload into a CloudEvents message on its route,
// running the Publish hooks on the envelope before it is written.
func (b *Bus) prepare(ctx context.Context, k topic.Kind, n topic.Name, data any, opts []PublishOption, async bool) (prepared, error) {
	r, err := b.streams.route(ctx, k, n)
	if err != nil {
		return prepared{}, err
	}
	return b.build(ctx, k, n, r, data, opts, async)
}

// build encodes a payload into a CloudEvents message for route r, running
// the Publish hooks; unlike prepare it never contacts the broker (Prepare
// builds messages for a route not yet provisioned).
func (b *Bus) build(ctx context.Context, k topic.Kind, n topic.Name, r *route, data any, opts []PublishOption, async bool) (prepared, error) {
	pc := applyPublishOptions(opts)
	body, err := b.cfg.codec.Marshal(data)
	if err != nil {
		return prepared{}, fmt.Errorf("choreo/bus: encoding %s payload: %w", n, err)
	}
	env := envelope.Envelope{
		ID:              pc.id,
		Source:          b.cfg.source,
		Type:            n.String(),
		Subject:         pc.subject,
		Time:            time.Now(),
		DataContentType: b.cfg.codec.ContentType(),
		Extensions:      pc.extensions,
		Data:            body,
	}
	if env.ID == "" {
		env.ID = envelope.NewID()
	}
	chainFrom(ctx, &env, pc.correlationID)
	p := prepared{msg: &nats.Msg{Subject: r.subject}, route: r} // envelope.Write sizes the header itself
	if len(b.hooks.all) > 0 {
		// The hooks get a heap copy (they may keep it until Published);
		// without hooks env stays on the stack.
		shared := new(envelope.Envelope)
		*shared = env
		p.hooks = b.hooks.beforePublish(ctx, Outgoing{Envelope: shared, Kind: k, Topic: n, WireSubject: r.subject, Async: async})
		env = *p.hooks.out.Envelope // a hook may have replaced the pointer
	}
	p.id = env.ID
	if err = envelope.Write(p.msg, &env); err != nil {
		err = fmt.Errorf("choreo/bus: %s: %w", n, err)
	} else if at, later, terr := pc.deliveryTime(env.Time); terr != nil {
		err = terr
	} else if later {
		p.scheduled = true
		err = b.schedule(ctx, n, r, p.msg, at)
	}
	if err != nil {
		if p.hooks != nil {
			b.hooks.afterPublish(p.hooks, Receipt{ID: p.id}, err)
		}
		return prepared{}, err
	}
	return p, nil
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
// whose correlation id is the message's own id. Other context (trace
// context, baggage) is not copied from the incoming message: that is the
// job of Publish hooks, which see the caller's ctx.
func chainFrom(ctx context.Context, env *envelope.Envelope, correlationID string) {
	if in := DeliveryFrom(ctx); in != nil && in.Envelope != nil {
		env.CorrelationID = in.Envelope.CorrelationID
		if env.CorrelationID == "" {
			env.CorrelationID = in.Envelope.ID
		}
		env.CausationID = in.Envelope.ID
	}
	if correlationID != "" {
		env.CorrelationID = correlationID
	}
	if env.CorrelationID == "" {
		env.CorrelationID = env.ID
	}
}
