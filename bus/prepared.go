package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Prepared is a message built and checked exactly as Send or Publish build
// theirs, but not written to the broker. It is the seam of a transactional
// outbox (package outbox): the outbox stores a Prepared message in the
// caller's database transaction, and its relay hands it back to
// PublishPrepared later, perhaps from another process.
type Prepared struct {
	// Kind and Topic say what is published: a command or an event, and its
	// topic name.
	Kind  topic.Kind
	Topic topic.Name
	// ID is the message's CloudEvents id; its Nats-Msg-Id (in Header) is
	// envelope.MsgID of the bus's source and this id.
	ID string
	// Header and Data are the message in its wire form: the binary-mode
	// CloudEvents headers (Nats-Msg-Id included) and the encoded payload.
	Header nats.Header
	Data   []byte
	// Envelope is the message as the Publish hooks left it. Prepare sets
	// it; PublishPrepared does not need it.
	Envelope *envelope.Envelope

	bus   *Bus
	hooks *publishState // nil without publish hooks
}

// Prepare builds the message Send (a command) or Publish (an event) would
// write for data on topic n: a new id (or WithID's), the bus's source, the
// codec's encoding, the correlation and causation ids from ctx as Publish
// takes them, the options, and then the Publish hooks, run with ctx. It does
// not contact the broker, so it works while the broker is down; the topic's
// stream is provisioned when the message is published.
//
// The Published hooks of the message have not run yet: call Done once its
// fate is known. An invalid message (bad option, payload the codec refuses,
// envelope a hook broke) is an error, and Done has then already run.
func (b *Bus) Prepare(ctx context.Context, k topic.Kind, n topic.Name, data any, opts ...PublishOption) (*Prepared, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.leave()
	if n.IsZero() {
		return nil, fmt.Errorf("choreo/bus: %w: the topic is the zero value; create it with topic.NewCommand/NewEvent or MustCommand/MustEvent", topic.ErrInvalidName)
	}
	r := &route{subject: topic.Subject(b.cfg.namespace, k, n), stream: topic.Stream(b.cfg.namespace, k, n.Entity)}
	p, err := b.build(ctx, k, n, r, data, opts, false)
	if err != nil {
		return nil, err
	}
	out := &Prepared{Kind: k, Topic: n, ID: p.id, Header: p.msg.Header, Data: p.msg.Data, bus: b, hooks: p.hooks}
	if p.hooks != nil {
		out.Envelope = p.hooks.out.Envelope
	} else {
		out.Envelope, _ = envelope.Read(p.msg.Header, p.msg.Data) // it was just written, so it reads
	}
	return out, nil
}

// Done runs the Published hooks of a message from Prepare with its outcome:
// for an outbox, the outcome of storing it (r then has only its ID). It
// does nothing for a message without hooks, and runs them once however
// often it is called.
func (p *Prepared) Done(r Receipt, err error) {
	if p == nil || p.hooks == nil {
		return
	}
	st := p.hooks
	p.hooks = nil
	p.bus.hooks.afterPublish(st, r, err)
}

// PublishPrepared writes a prepared message as it is, waiting for the
// broker to store it. Only Kind, Topic, ID, Header and Data are used, so a
// relay can rebuild p from what it stored. The id is kept, and with it the
// Nats-Msg-Id: a message published again within the stream's duplicate
// window is dropped by the broker (Receipt.Duplicate). No hooks run: they
// ran when the message was prepared. The topic's stream is provisioned if
// needed, and a connection that breaks meanwhile is handled as Publish
// handles it.
func (b *Bus) PublishPrepared(ctx context.Context, p *Prepared) (Receipt, error) {
	if err := b.enter(ctx); err != nil {
		return Receipt{}, err
	}
	defer b.leave()
	r, err := b.streams.route(ctx, p.Kind, p.Topic)
	if err != nil {
		return Receipt{ID: p.ID}, err
	}
	return b.publishPrepared(ctx, p.Kind, p.Topic, b.wire(p, r))
}

// PublishPreparedAsync writes a prepared message as PublishPrepared does,
// without waiting for the broker's acknowledgement; the Future reports it,
// as for PublishAsync.
func (b *Bus) PublishPreparedAsync(ctx context.Context, p *Prepared) (*Future, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.leave()
	r, err := b.streams.route(ctx, p.Kind, p.Topic)
	if err != nil {
		return nil, err
	}
	return b.publishAsyncPrepared(ctx, p.Topic, b.wire(p, r))
}

// wire is p as the publish paths take it, on route r. The header is copied:
// the publish paths may set it again after a broken connection.
func (b *Bus) wire(p *Prepared, r *route) prepared {
	h := make(nats.Header, len(p.Header))
	for k, v := range p.Header {
		h[k] = v
	}
	return prepared{msg: &nats.Msg{Subject: r.subject, Header: h, Data: p.Data}, route: r, id: p.ID}
}
