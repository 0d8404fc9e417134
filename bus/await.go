package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Send and await: a caller outside the choreography (an HTTP handler, a
// CLI) sends a command and waits for the event that says how it ended.
//
// Every caller in the process that awaits events of one topic shares one
// ordered consumer on the topic's subject (an ephemeral consumer the
// client recreates from where it left off after a disconnect), and the
// events are handed to the callers by correlation id. Why an ordered
// consumer and not a core NATS subscription: its start sequence is read
// from the stream before the command is sent, so every event stored after
// that reaches it, however late the consumer itself starts or restarts; a
// core subscription misses an event published while the client reconnects,
// or before its interest reached the publisher's server in a cluster. The
// consumer is deleted when its last caller returns, and has an inactivity
// threshold so the server removes it if the process dies first.

// awaitInactive is the inactivity threshold of the shared consumers.
const awaitInactive = time.Minute

// Awaited names an event topic that SendAndAwaitAny waits for; make one
// with Await.
type Awaited struct{ name topic.Name }

// Await names e as one of the outcomes SendAndAwaitAny waits for.
func Await[E any](e topic.Event[E]) Awaited { return Awaited{name: e.Name()} }

// Outcome is the event SendAndAwaitAny returned: which topic it came on,
// and its envelope. Decode it with OutcomeOf.
type Outcome struct {
	Topic    topic.Name
	Envelope *envelope.Envelope
	codec    Codec
}

// OutcomeOf returns the outcome as a message of e when it came on e's
// topic; ok is false when it is another topic's. err says its payload did
// not decode into E (matching ErrDecode).
func OutcomeOf[E any](o *Outcome, e topic.Event[E]) (m *Message[E], ok bool, err error) {
	if o == nil || o.Topic.String() != e.Name().String() {
		return nil, false, nil
	}
	m, err = decodeAwaited[E](o.codec, o.Topic, o.Envelope)
	return m, true, err
}

// SendAndAwait sends a command and returns the first event of topic evt in
// the command's correlation chain (its ce-correlationid: the command's own
// id, or the chain it continues; see WithCorrelationID), or ctx's error
// when ctx ends first. The event must be published after the command was
// sent, by a handler that continues the chain (passes its ctx to Publish).
//
// It is for callers at the edge of the system, an HTTP request waiting for
// its answer, not for services inside a choreography: a service that waits
// for another's event holds a handler (and a message's ack wait) hostage
// to the other's availability, so a choreography should not depend on it;
// subscribe to the event instead. Nothing is left on the server when it
// returns: callers in one process share one ephemeral consumer per event
// topic, deleted when the last of them returns; while any caller waits,
// the process reads every event of the awaited topics (the server cannot
// filter by correlation id), so await rare outcome events, not a firehose.
// The command is sent as
// Send sends it (all PublishOptions apply; a delayed command is awaited
// until ctx ends), and an event decoded into E that fails to decode is an
// ErrDecode error.
func SendAndAwait[C, E any](ctx context.Context, b *Bus, cmd topic.Command[C], data C, evt topic.Event[E], opts ...PublishOption) (*Message[E], error) {
	o, err := b.sendAndAwait(ctx, topic.KindCommand, cmd.Name(), data, []Awaited{Await(evt)}, opts)
	if err != nil {
		return nil, err
	}
	return decodeAwaited[E](o.codec, o.Topic, o.Envelope)
}

// SendAndAwaitAny is SendAndAwait for a command with several possible
// outcomes ("v1.payment.captured" or "v1.payment.failed"): it returns the
// first event of any of the events' topics in the command's chain. Use
// OutcomeOf to tell which it is and to decode it.
func SendAndAwaitAny[C any](ctx context.Context, b *Bus, cmd topic.Command[C], data C, events []Awaited, opts ...PublishOption) (*Outcome, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: SendAndAwaitAny needs at least one event to await", ErrInvalidOption)
	}
	return b.sendAndAwait(ctx, topic.KindCommand, cmd.Name(), data, events, opts)
}

func (b *Bus) sendAndAwait(ctx context.Context, k topic.Kind, n topic.Name, data any, events []Awaited, opts []PublishOption) (*Outcome, error) {
	for _, e := range events {
		if e.name.IsZero() {
			return nil, fmt.Errorf("%w: an awaited event is the zero value; use bus.Await(event)", ErrInvalidOption)
		}
	}
	// The chain is known before sending, so the waiter is in place before
	// the command can be handled.
	pc := applyPublishOptions(opts)
	id := pc.id
	opts = slices.Clip(opts)
	if id == "" {
		id = envelope.NewID()
		opts = append(opts, WithID(id))
	}
	chain := envelope.Envelope{ID: id}
	chainFrom(ctx, &chain, pc.correlationID)
	opts = append(opts, WithCorrelationID(chain.CorrelationID))

	w, leave, err := b.awaits.join(ctx, b, events, chain.CorrelationID)
	if err != nil {
		return nil, err
	}
	defer leave()
	if _, err := b.publishSync(ctx, k, n, data, opts); err != nil {
		return nil, err
	}
	select {
	case got := <-w.ch:
		return &Outcome{Topic: got.topic, Envelope: got.env, codec: b.cfg.codec}, nil
	case <-b.awaits.closing():
		return nil, fmt.Errorf("choreo/bus: awaiting the outcome of %s %s: %w", n, id, ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("choreo/bus: awaiting the outcome of %s %s: %w", n, id, ctx.Err())
	}
}

func decodeAwaited[E any](codec Codec, n topic.Name, env *envelope.Envelope) (*Message[E], error) {
	m := &Message[E]{Envelope: env, Attempt: 1}
	if err := codec.Unmarshal(env.Data, &m.Data); err != nil {
		return nil, fmt.Errorf("%w: payload of %s %s does not decode into %T: %v", ErrDecode, n, env.ID, m.Data, err)
	}
	return m, nil
}

// awaitHub shares one consumer per awaited event topic among a bus's
// callers. Its zero value is ready.
type awaitHub struct {
	mu     sync.Mutex
	topics map[string]*awaitTopic // by event name
	done   chan struct{}          // closed when the bus closes
}

// awaitTopic is the shared consumer of one event topic and its waiters.
type awaitTopic struct {
	name topic.Name
	refs int // callers joined, under awaitHub.mu

	mu      sync.Mutex
	waiters map[string][]*waiter // by correlation id
	cons    jetstream.Consumer
	cc      jetstream.ConsumeContext
	stream  string
}

// waiter is one caller: the first matching event of any of its topics.
type waiter struct{ ch chan awaited }

type awaited struct {
	topic topic.Name
	env   *envelope.Envelope
}

func (h *awaitHub) closing() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = make(chan struct{})
	}
	return h.done
}

// close wakes every caller with ErrClosed; they then delete their
// consumers (or the server does, after the inactivity threshold, if the
// connection is gone by then).
func (h *awaitHub) close() {
	h.closing() // makes done
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.done:
	default:
		close(h.done)
	}
}

// join registers a waiter for correlation id corr on every topic of
// events, starting their consumers as needed; leave undoes it.
func (h *awaitHub) join(ctx context.Context, b *Bus, events []Awaited, corr string) (*waiter, func(), error) {
	w := &waiter{ch: make(chan awaited, 1)}
	var joined []*awaitTopic
	leave := func() {
		for _, t := range joined {
			h.leave(t, w, corr, b)
		}
	}
	for _, e := range events {
		t := h.ref(e.name)
		joined = append(joined, t)
		if err := t.add(ctx, b, w, corr); err != nil {
			leave()
			return nil, nil, err
		}
	}
	return w, leave, nil
}

// ref returns the topic's shared state, counting one more caller.
func (h *awaitHub) ref(n topic.Name) *awaitTopic {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics == nil {
		h.topics = make(map[string]*awaitTopic)
	}
	t := h.topics[n.String()]
	if t == nil {
		t = &awaitTopic{name: n, waiters: make(map[string][]*waiter)}
		h.topics[n.String()] = t
	}
	t.refs++
	return t
}

// leave removes w from t and, for the last caller, stops and deletes the
// consumer.
func (h *awaitHub) leave(t *awaitTopic, w *waiter, corr string, b *Bus) {
	t.mu.Lock()
	ws := slices.DeleteFunc(t.waiters[corr], func(x *waiter) bool { return x == w })
	if len(ws) == 0 {
		delete(t.waiters, corr)
	} else {
		t.waiters[corr] = ws
	}
	t.mu.Unlock()

	h.mu.Lock()
	t.refs--
	last := t.refs == 0
	if last {
		delete(h.topics, t.name.String())
	}
	h.mu.Unlock()
	if last {
		t.stop(b)
	}
}

// add registers w, starting the consumer if it is not running yet.
func (t *awaitTopic) add(ctx context.Context, b *Bus, w *waiter, corr string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cc == nil {
		if err := t.start(ctx, b); err != nil {
			return err
		}
	}
	t.waiters[corr] = append(t.waiters[corr], w)
	return nil
}

// start creates the ordered consumer, from the sequence after the
// stream's last one: every event stored from now on reaches it. Called
// with t.mu held.
func (t *awaitTopic) start(ctx context.Context, b *Bus) error {
	r, err := b.streams.route(ctx, topic.KindEvent, t.name)
	if err != nil {
		return err
	}
	s, err := b.js.Stream(ctx, r.stream)
	if err != nil {
		return fmt.Errorf("choreo/bus: reading stream %s to await %s: %w", r.stream, t.name, err)
	}
	cons, err := b.js.OrderedConsumer(ctx, r.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{r.subject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       s.CachedInfo().State.LastSeq + 1,
		InactiveThreshold: awaitInactive,
	})
	if err != nil {
		return fmt.Errorf("choreo/bus: awaiting %s: %w", t.name, err)
	}
	cc, err := cons.Consume(t.deliver, jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return fmt.Errorf("choreo/bus: awaiting %s: %w", t.name, err)
	}
	t.cons, t.cc, t.stream = cons, cc, r.stream
	return nil
}

// deliver hands an event to the waiters of its correlation id; events of
// other chains, and messages that are not CloudEvents, are skipped.
func (t *awaitTopic) deliver(msg jetstream.Msg) {
	env, err := envelope.Read(msg.Headers(), msg.Data())
	if err != nil || env.CorrelationID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range t.waiters[env.CorrelationID] {
		select {
		case w.ch <- awaited{topic: t.name, env: env}:
		default: // it already has its outcome
		}
	}
}

// stop ends consumption and deletes the consumer on the server.
func (t *awaitTopic) stop(b *Bus) {
	t.mu.Lock()
	cons, cc, stream := t.cons, t.cc, t.stream
	t.mu.Unlock()
	if cc == nil {
		return
	}
	cc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.js.DeleteConsumer(ctx, stream, cons.CachedInfo().Name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		b.cfg.logger.Debug("choreo: cannot delete an await consumer; the server removes it when inactive",
			"stream", stream, "inactive_threshold", awaitInactive, "error", err)
	}
}
