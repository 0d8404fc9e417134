package bus

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Ordered handling per key (WithOrdered).
//
// Which instance gets which message is the server's choice, and the key
// lives in a header the server does not look at, so a client-side queue
// alone cannot keep one key in order across instances. The consumer of an
// ordered group therefore uses JetStream's pinned-client priority policy:
// the server delivers the group's messages to one instance at a time (the
// pinned one) and moves the pin to another instance when the pinned one
// stops pulling (Stop and Drain hand it over at once; a crashed instance
// loses it after pinnedTTL). Inside the pinned instance, messages are
// queued per key in stream order and up to the concurrency of keys are
// handled at once, one message per key at a time. A failing message is
// retried in place (the handler runs again after the back-off while the
// instance keeps the message) so later messages of its key wait and
// messages of other keys do not.
//
// When the pin moves, the new instance first waits until every message the
// group has outstanding (NumAckPending) has come to it, so it never starts
// a key's later message while an earlier one is still with the previous
// instance, even one that lost the pin without noticing.

// pinnedTTL is how long the server keeps an ordered consumer pinned to an
// instance that sends no pull request: the failover time after a crash. A
// live instance pulls at least every pullExpiry.
const pinnedTTL = 3 * pullExpiry

// orderedConfig is the setting of WithOrdered and WithOrderKey.
type orderedConfig struct {
	// key returns a message's ordering key; nil means its CloudEvents
	// subject.
	key func(*envelope.Envelope) string
	// keySet records that WithOrderKey was given (so a nil function is an
	// error, not the default).
	keySet bool
}

// WithOrdered handles the messages of one key one at a time, in the order
// they were published, across every instance of the group: the next
// message of a key starts only when the previous one was acknowledged or
// dead-lettered. The key is the message's CloudEvents subject (WithSubject
// when publishing; messages without one share the key ""), or what
// WithOrderKey returns. Messages of different keys run concurrently, up to
// WithConcurrency.
//
// A failing message is retried in place: its handler runs again after the
// back-off (WithBackoff, or RetryAfter's delay) while the instance keeps
// the message, so only its own key waits. After WithMaxDeliver attempts, or
// on Permanent, it is dead-lettered and its key moves on; the dead letter
// carries the header Choreo-Dlq-Key-Continued naming the key.
//
// One instance of the group (the server pins the consumer to it) handles
// all messages at a time; the others stand by and take over when it stops
// (at once on Stop, Drain or Close, except that a message on its way to
// the stopping instance comes back after its ack wait, its key waiting for
// it; within about half a minute plus the ack wait after a crash). Concurrency across keys therefore comes from
// WithConcurrency, not from adding instances. Every instance of a group
// must use WithOrdered, and it needs nats-server 2.11 or newer; it cannot
// be combined with WithRateLimit yet. A key that
// stays blocked while about a thousand later messages arrive (the
// consumer's max ack pending) stalls the other keys too.
func WithOrdered() SubscribeOption {
	return func(c *subscribeConfig) {
		if c.ordered == nil {
			c.ordered = &orderedConfig{}
		}
	}
}

// WithOrderKey is WithOrdered with the ordering key taken from each
// message by key, which sees the CloudEvents attributes and the raw
// payload (an order id inside the data, say). It runs once per message on
// the instance's receiving goroutine, so it must be fast; a panic in it
// counts as the key "". Messages that are not CloudEvents get the key "".
func WithOrderKey(key func(e *envelope.Envelope) string) SubscribeOption {
	return func(c *subscribeConfig) { c.ordered = &orderedConfig{key: key, keySet: true} }
}

// validateFlow checks the options of ordered handling and the circuit
// breaker.
func (c *subscribeConfig) validateFlow() error {
	if c.ordered != nil && c.ordered.keySet && c.ordered.key == nil {
		return fmt.Errorf("%w: WithOrderKey's function is nil; use WithOrdered to order by the CloudEvents subject", ErrInvalidOption)
	}
	if c.ordered != nil && c.rate != nil {
		// The rate limiter's fetch loop hands messages to the plain workers
		// and does not name the ordered group's priority group.
		return fmt.Errorf("%w: WithOrdered and WithRateLimit cannot be combined yet; bound an ordered group's pace with WithConcurrency", ErrInvalidOption)
	}
	return c.breaker.validate()
}

// orderedQueue holds an ordered subscription's messages per key until a
// worker may start them.
type orderedQueue struct {
	s   *Subscription
	key func(*envelope.Envelope) string

	mu      sync.Mutex
	wake    *sync.Cond       // a lane became ready, syncing ended, or closed
	lanes   map[string]*lane // keys with messages held or running
	ready   []*lane          // lanes whose next message may start, oldest first
	held    int              // messages in lanes, not yet started
	running int              // messages whose handler runs (with retries)
	pin     string           // the pin id of the latest delivery
	syncing bool             // waiting for the group's outstanding messages
	closed  bool

	helpers  sync.WaitGroup // the keeper and the sync check
	stop     chan struct{}  // ends the helpers
	stopOnce sync.Once
}

// lane is one key's messages in stream order.
type lane struct {
	key     string
	msgs    []heldMsg
	running uint64 // stream sequence of the message being handled; 0 if none
	queued  bool   // in orderedQueue.ready
}

// heldMsg is a received message waiting for its key's turn.
type heldMsg struct {
	msg     jetstream.Msg
	seq     uint64
	touched time.Time // when it arrived or was last marked in progress
}

func newOrderedQueue(s *Subscription) *orderedQueue {
	o := &orderedQueue{s: s, key: s.cfg.ordered.key, lanes: make(map[string]*lane), stop: make(chan struct{})}
	o.wake = sync.NewCond(&o.mu)
	o.helpers.Add(1)
	go o.keep()
	return o
}

// keyOf returns a message's ordering key.
func (o *orderedQueue) keyOf(msg jetstream.Msg) (key string) {
	env, err := envelope.Read(msg.Headers(), msg.Data())
	if err != nil {
		return "" // dead-lettered as not a CloudEvent when its turn comes
	}
	if o.key == nil {
		return env.Subject
	}
	defer func() {
		if r := recover(); r != nil {
			o.s.logger.Error("choreo: the WithOrderKey function panicked; ordering the message under the key \"\"", "id", env.ID, "panic", r)
			key = ""
		}
	}()
	return o.key(env)
}

// dispatch is the nats.go Consume callback of an ordered subscription: it
// files the message under its key and never blocks (the consumer's max ack
// pending bounds how many are held).
func (o *orderedQueue) dispatch(msg jetstream.Msg) {
	now := time.Now()
	o.s.lastDelivery.Store(now.UnixNano())
	pos, _ := parseAckReply(msg.Reply())
	key := o.keyOf(msg)
	pin := msg.Headers().Get(headerPinID)

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		_ = msg.NakWithDelay(0) // stopping: the next pinned instance takes it
		return
	}
	if pin != o.pin {
		// Newly pinned (or pinned again): earlier messages may still be
		// with the instance that had the pin.
		o.pin = pin
		if !o.syncing {
			o.syncing = true
			o.helpers.Add(1)
			go o.sync()
		}
	}
	l := o.lanes[key]
	if l == nil {
		l = &lane{key: key}
		o.lanes[key] = l
	}
	if pos.streamSeq != 0 && pos.streamSeq == l.running {
		// A redelivery of the message being handled (its ack wait ran out):
		// the running handler settles it.
		return
	}
	h := heldMsg{msg: msg, seq: pos.streamSeq, touched: now}
	i, found := slices.BinarySearchFunc(l.msgs, h.seq, func(m heldMsg, seq uint64) int { return cmp.Compare(m.seq, seq) })
	if found {
		l.msgs[i] = h // a redelivery of a held message: keep the newest delivery
	} else {
		l.msgs = slices.Insert(l.msgs, i, h)
		o.held++
	}
	o.markReady(l)
}

// markReady queues a lane for a worker if its next message may start.
// Callers hold o.mu.
func (o *orderedQueue) markReady(l *lane) {
	if l.queued || l.running != 0 || len(l.msgs) == 0 || o.syncing {
		return
	}
	l.queued = true
	o.ready = append(o.ready, l)
	o.wake.Signal()
}

// next waits for a message whose key is free and takes it; ok is false
// when the subscription stops.
func (o *orderedQueue) next() (l *lane, q queued, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for !o.closed && (o.syncing || len(o.ready) == 0) {
		o.wake.Wait()
	}
	if o.closed {
		return nil, queued{}, false
	}
	l = o.ready[0]
	o.ready[0] = nil
	o.ready = o.ready[1:]
	l.queued = false
	h := l.msgs[0]
	l.msgs = l.msgs[1:]
	l.running = max(h.seq, 1)
	o.held--
	o.running++
	return l, queued{msg: h.msg, arrived: h.touched, orderKey: &l.key}, true
}

// done ends the running message of l and lets its next one start.
func (o *orderedQueue) done(l *lane) {
	o.mu.Lock()
	defer o.mu.Unlock()
	l.running = 0
	o.running--
	if len(l.msgs) == 0 {
		delete(o.lanes, l.key)
		return
	}
	o.markReady(l)
}

// orderedWorker runs handlers for an ordered subscription until it stops.
func (s *Subscription) orderedWorker() {
	defer s.workers.Done()
	for {
		l, q, ok := s.ordered.next()
		if !ok {
			return
		}
		s.inFlight.Add(1)
		s.process(q)
		s.inFlight.Add(-1)
		s.ordered.done(l)
	}
}

// sync waits until every message the group has outstanding is held or
// running here, then lets the workers start. Until then a message of an
// earlier position may still be with the instance that had the pin (it is
// redelivered here after its ack wait, or when that instance hands it
// back), and starting a later message of its key would break the order.
func (o *orderedQueue) sync() {
	defer o.helpers.Done()
	delay := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(o.s.ctx, 5*time.Second)
		info, err := o.s.consumerInfo(ctx)
		cancel()
		if err == nil {
			o.mu.Lock()
			if o.closed || o.hasAllOutstanding(info) {
				o.syncing = false
				for _, l := range o.lanes {
					o.markReady(l)
				}
				o.wake.Broadcast()
				o.mu.Unlock()
				return
			}
			o.mu.Unlock()
		}
		select {
		case <-o.stop:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// hasAllOutstanding reports whether every message the consumer had
// outstanding when info was taken is held or running here. Messages
// delivered after info have higher stream sequences than info's last
// delivered one and are not counted, so a busy stream cannot make the
// count look complete. Callers hold o.mu.
func (o *orderedQueue) hasAllOutstanding(info *jetstream.ConsumerInfo) bool {
	last := info.Delivered.Stream
	mine := 0
	for _, l := range o.lanes {
		if l.running != 0 && l.running <= last {
			mine++
		}
		for _, h := range l.msgs {
			if h.seq <= last {
				mine++
			}
		}
	}
	return info.NumAckPending <= mine
}

// keep marks held messages in progress before their ack wait runs out, so
// a message waiting behind its key is not redelivered meanwhile.
func (o *orderedQueue) keep() {
	defer o.helpers.Done()
	wait := o.s.cfg.ackWait
	t := time.NewTicker(max(wait/4, 100*time.Millisecond))
	defer t.Stop()
	var due []jetstream.Msg
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		due = due[:0]
		o.mu.Lock()
		for _, l := range o.lanes {
			for i := range l.msgs {
				if now.Sub(l.msgs[i].touched) >= wait/2 {
					l.msgs[i].touched = now
					due = append(due, l.msgs[i].msg)
				}
			}
		}
		o.mu.Unlock()
		for _, m := range due {
			_ = m.InProgress()
		}
	}
}

// close stops the workers; messages that arrive afterwards are handed
// back at once.
func (o *orderedQueue) close() {
	o.mu.Lock()
	o.closed = true
	o.wake.Broadcast()
	o.mu.Unlock()
}

// handBack returns the held messages to the server for immediate
// redelivery and, if this instance holds the pin, releases it so that
// another instance takes over now rather than after pinnedTTL. It runs
// once the workers have stopped.
func (o *orderedQueue) handBack() {
	first := false
	o.stopOnce.Do(func() { close(o.stop); first = true })
	if !first {
		return
	}
	o.helpers.Wait()
	o.mu.Lock()
	var back []jetstream.Msg
	for _, l := range o.lanes {
		for _, h := range l.msgs {
			back = append(back, h.msg)
		}
		l.msgs = nil
	}
	o.held = 0
	pin := o.pin
	o.mu.Unlock()
	for _, m := range back {
		_ = m.NakWithDelay(0)
	}
	if pin == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := o.s.consumerInfo(ctx)
	if err != nil {
		return
	}
	for _, g := range info.PriorityGroups {
		if g.Group == topic.OrderedPriorityGroup && g.PinnedClientID == pin {
			if st, err := o.s.b.js.Stream(ctx, o.s.stream); err == nil {
				_ = st.UnpinConsumer(ctx, o.s.consumer, topic.OrderedPriorityGroup)
			}
		}
	}
}

// headerPinID is the header in which the server names the pin of a
// pinned consumer's deliveries.
const headerPinID = "Nats-Pin-Id"

// orderedConsumer sets the pinned-client policy on an ordered group's
// consumer configuration.
func orderedConsumer(cc *jetstream.ConsumerConfig) {
	cc.PriorityPolicy = jetstream.PriorityPolicyPinned
	cc.PriorityGroups = []string{topic.OrderedPriorityGroup}
	cc.PinnedTTL = pinnedTTL
}
