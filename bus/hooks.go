package bus

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Hooks are the bus's extension points for instrumentation (tracing,
// metrics, audit logs, tenancy) that must see every message without editing
// the core. Every field is optional; install them with WithHooks. Hooks run
// on the publishing goroutine or on a subscription's worker, so they must be
// fast and safe for concurrent use; a hook must not block on the bus it
// instruments.
//
// A bus without hooks pays nothing for them: the publish and delivery paths
// check one slice length.
type Hooks struct {
	// Publish runs before a Send, Publish, SendAsync or PublishAsync writes
	// its message, with the caller's ctx. It may change m.Envelope (add
	// extensions such as traceparent or a tenant id, set DataSchema); the
	// bus validates the envelope after every Publish hook has run. The
	// context it returns is what the same hook's Published receives (to
	// carry a span, say); return ctx when there is nothing to carry.
	Publish func(ctx context.Context, m *Outgoing) context.Context

	// Published runs once the broker has acknowledged the message (err nil,
	// r the receipt) or the publish has failed (err says why), with the
	// context Publish returned. For SendAsync and PublishAsync it runs when
	// the acknowledgement arrives, on a goroutine of the NATS client.
	Published func(ctx context.Context, m *Outgoing, r Receipt, err error)

	// Receive runs when a message reaches a worker, before its payload is
	// decoded and before any middleware, with the subscription's context.
	// d.Envelope is nil when the message is not a CloudEvent. The context it
	// returns becomes the parent of the handler's context (so a span started
	// here is the parent of the handler's publishes) and is what Settle
	// receives; return ctx when there is nothing to carry.
	Receive func(ctx context.Context, d *Delivery) context.Context

	// Settle runs once per delivery with the bus's final decision: ack,
	// retry (with its delay) or dead letter (with its reason), including
	// messages dead-lettered before any middleware ran because they did not
	// decode. ctx is the context Receive returned.
	Settle func(ctx context.Context, d *Delivery, s Settlement)

	// Open runs once for each bus the hooks are installed on, when New or
	// Connect is about to return it, before any message. Instrumentation
	// that reads the server rather than the messages (consumer lag, from
	// b.Subscriptions) keeps b here. It must not block.
	Open func(b *Bus)
}

// WithHooks installs instrumentation hooks on the bus. It may be given
// more than once; hooks run in the order given (Publish and Receive), and
// Published and Settle run in the same order.
func WithHooks(h Hooks) Option {
	return func(c *config) {
		if h.Publish != nil || h.Published != nil || h.Receive != nil || h.Settle != nil || h.Open != nil {
			c.hooks = append(c.hooks, h)
		}
	}
}

// Outgoing is a message on its way to the broker, as publish hooks see it.
type Outgoing struct {
	// Envelope is the CloudEvent about to be written. Publish hooks may
	// modify it; Published hooks must only read it.
	Envelope *envelope.Envelope
	// Kind and Topic say what is published: a command or an event, and its
	// topic name.
	Kind  topic.Kind
	Topic topic.Name
	// WireSubject is the NATS subject the message is written to.
	WireSubject string
	// Async is true for SendAsync and PublishAsync.
	Async bool
}

// Decision is what the bus did with a delivery.
type Decision uint8

const (
	// DecisionAck: the handler succeeded and the message was acknowledged.
	DecisionAck Decision = iota + 1
	// DecisionRetry: the message will be delivered again after
	// Settlement.Delay (a failure, RetryAfter, or a dead letter that could
	// not be parked yet).
	DecisionRetry
	// DecisionDeadLetter: the message was parked in the dead-letter stream
	// and removed from its group; Settlement.Reason says why.
	DecisionDeadLetter
	// DecisionRelease: the subscription stopped while the handler ran; the
	// message was handed back for another instance, not counted as a
	// failure of the message.
	DecisionRelease
)

// String returns "ack", "retry", "dead_letter" or "release".
func (d Decision) String() string {
	switch d {
	case DecisionAck:
		return "ack"
	case DecisionRetry:
		return "retry"
	case DecisionDeadLetter:
		return "dead_letter"
	case DecisionRelease:
		return "release"
	}
	return "unknown"
}

// Settlement is the final decision on one delivery, as Settle hooks see it.
type Settlement struct {
	Decision Decision
	// Delay is when a retried message comes back (DecisionRetry).
	Delay time.Duration
	// Err is the handler's error (nil on ack), or why the message was
	// dead-lettered before any handler ran (ErrDecode).
	Err error
	// Reason is the dead-letter reason as stored with the dead letter.
	Reason string
	// Panicked is true when the handler or a middleware panicked.
	Panicked bool
	// HandlerDuration is how long the middleware chain and handler ran; 0
	// when none ran (the message did not decode).
	HandlerDuration time.Duration
}

// hookSet is the installed hooks, split by kind so each path loops only
// over the hooks it needs.
type hookSet struct {
	all []Hooks
	// wantsAsyncOutcome is set when a Published hook exists: only then does
	// an asynchronous publish keep state until its acknowledgement.
	wantsAsyncOutcome bool
	// pending holds the state of asynchronous publishes awaiting their
	// acknowledgement, keyed by the message, when a Published hook exists.
	pending sync.Map // *nats.Msg -> *publishState
}

// publishState carries what the Publish hooks returned to the Published
// hooks.
type publishState struct {
	out  Outgoing
	ctxs []context.Context
}

func (h *hookSet) init(all []Hooks) {
	h.all = all
	for _, x := range all {
		h.wantsAsyncOutcome = h.wantsAsyncOutcome || x.Published != nil
	}
}

// open runs the Open hooks for a bus that is ready to be returned.
func (h *hookSet) open(b *Bus) {
	for _, x := range h.all {
		if x.Open != nil {
			x.Open(b)
		}
	}
}

// beforePublish runs the Publish hooks and returns the state for the
// Published hooks (nil when there are none).
func (h *hookSet) beforePublish(ctx context.Context, out Outgoing) *publishState {
	st := &publishState{out: out, ctxs: make([]context.Context, len(h.all))}
	for i, x := range h.all {
		st.ctxs[i] = ctx
		if x.Publish != nil {
			if c := x.Publish(ctx, &st.out); c != nil {
				st.ctxs[i] = c
			}
		}
	}
	return st
}

// afterPublish runs the Published hooks with the outcome.
func (h *hookSet) afterPublish(st *publishState, r Receipt, err error) {
	for i, x := range h.all {
		if x.Published != nil {
			x.Published(st.ctxs[i], &st.out, r, err)
		}
	}
}

// asyncDone is called from the NATS client's callbacks for asynchronous
// publishes (acknowledged or failed); it finds the message's hook state.
func (h *hookSet) asyncDone(m *nats.Msg, r Receipt, err error) {
	v, ok := h.pending.LoadAndDelete(m)
	if !ok {
		return
	}
	st := v.(*publishState)
	r.ID = st.out.Envelope.ID
	h.afterPublish(st, r, err)
}

// receive runs the Receive hooks; the returned contexts, one per hook, go
// to settle. Each hook's context becomes the parent of the next one's.
func (h *hookSet) receive(ctx context.Context, d *Delivery) (context.Context, []context.Context) {
	ctxs := make([]context.Context, len(h.all))
	for i, x := range h.all {
		if x.Receive != nil {
			if c := x.Receive(ctx, d); c != nil {
				ctx = c
			}
		}
		ctxs[i] = ctx
	}
	return ctx, ctxs
}

// settle runs the Settle hooks with the decision.
func (h *hookSet) settle(ctxs []context.Context, d *Delivery, s Settlement) {
	for i, x := range h.all {
		if x.Settle != nil {
			x.Settle(ctxs[i], d, s)
		}
	}
}
