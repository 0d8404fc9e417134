package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// Subscription is a running handler: a durable consumer and the workers
// that run the handler for its messages. Stop or Drain it (or Close the bus)
// to release its goroutines. Its methods are safe for concurrent use, but
// must not be called from inside one of its own handlers (the call would
// wait for the handler that makes it).
type Subscription struct {
	b        *Bus
	kind     topic.Kind
	name     topic.Name
	consumer string
	stream   string
	subject  string
	cfg      subscribeConfig
	logger   *slog.Logger

	decode  func(*Delivery) error
	handler HandlerFunc

	// ordered queues messages per key (WithOrdered); breaker pauses the
	// group after consecutive failures (WithCircuitBreaker). Nil when off.
	ordered *orderedQueue
	breaker *breaker

	// work hands messages from the nats.go callback to the workers. It is
	// never closed (a callback may still be sending); quit ends the workers.
	work chan queued
	quit chan struct{}

	// ctx is the parent of every handler context: cancelled by Stop, or
	// when Drain's context is done.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cons     jetstream.Consumer
	cc       jetstream.ConsumeContext
	stopping bool
	restart  chan struct{} // consumer lost: the supervisor checks and recreates it

	// lastAcked is the highest stream sequence this instance acknowledged,
	// so a consumer recreated after a loss resumes after it instead of
	// replaying the whole stream.
	lastAcked atomic.Uint64

	// What Health reads: when nats.go last handed over a message, how many
	// handlers run now, when consumption (re)started, and whether the
	// consumer is being recreated after a loss.
	lastDelivery atomic.Int64 // unix nanoseconds
	inFlight     atomic.Int32
	consuming    atomic.Int64 // unix nanoseconds of the last (re)start
	recreating   atomic.Bool

	// redeliverTargets caches which consumer names in Choreo-Redeliver-To
	// headers exist, at most maxRedeliverTargets of them.
	targetsMu        sync.Mutex
	redeliverTargets map[string]bool

	consumed   chan struct{} // closed when nats.go has delivered its buffer (Drain)
	quitOnce   sync.Once
	workers    sync.WaitGroup
	supervisor sync.WaitGroup
	stopOnce   sync.Once
}

// queued is a message on its way to a worker, with the latest time it can
// have arrived at this client (see dispatcher).
type queued struct {
	msg     jetstream.Msg
	arrived time.Time
	// orderKey is the message's ordering key (WithOrdered); nil otherwise.
	orderKey *string
}

func (b *Bus) subscribe(ctx context.Context, k topic.Kind, n topic.Name, group string, decode func(*Delivery) error, inner HandlerFunc, opts []SubscribeOption) (*Subscription, error) {
	if err := b.enterBeforeClose(); err != nil {
		return nil, err
	}
	defer b.leave()
	cfg := defaultSubscribeConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := topic.ValidateGroup(group); err != nil {
		return nil, optionError("group", err)
	}
	if k == topic.KindCommand && cfg.deliverNew {
		return nil, fmt.Errorf("%w: WithDeliverNew applies to event groups; a command is always delivered", ErrInvalidOption)
	}
	if !b.cfg.provision {
		if err := b.verifyGroup(ctx, k, n, topic.ConsumerName(group, n)); err != nil {
			return nil, err
		}
	}
	r, err := b.streams.route(ctx, k, n)
	if err != nil {
		return nil, err
	}
	s := &Subscription{
		b: b, kind: k, name: n, consumer: topic.ConsumerName(group, n), stream: r.stream, subject: r.subject,
		cfg: cfg, decode: decode, work: make(chan queued), quit: make(chan struct{}),
		restart: make(chan struct{}, 1), consumed: make(chan struct{}), redeliverTargets: make(map[string]bool),
	}
	s.logger = b.cfg.logger.With("topic", n.String(), "consumer", s.consumer)
	mws := append(append([]Middleware(nil), b.cfg.middleware...), cfg.middleware...)
	s.handler = chain(inner, mws...)
	if err := b.checkFlowSupport(cfg); err != nil {
		return nil, err
	}
	if s.cons, err = ensureConsumer(ctx, b, s.stream, s.consumerConfig(0)); err != nil {
		return nil, err
	}
	if !b.cfg.provision {
		s.adoptConsumer(s.cons)
		// Without provisioning rights the converter's stream and consumer
		// were checked above; one that still fails to start is an error.
		if err := b.deadLetters.watch(ctx, b, s.stream, s.consumer); err != nil {
			return nil, err
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.startFlow()
	if err := s.consume(); err != nil {
		s.cancel()
		s.stopFlow()
		return nil, err
	}
	for range cfg.concurrency {
		s.workers.Add(1)
		if s.ordered != nil {
			go s.orderedWorker()
		} else {
			go s.worker()
		}
	}
	s.supervisor.Add(1)
	go s.supervise()
	if err := b.track(s); err != nil {
		s.Stop() // Close began while this subscription was being made
		return nil, err
	}
	if b.cfg.provision {
		if err := b.deadLetters.watch(ctx, b, s.stream, s.consumer); err != nil {
			b.cfg.logger.Warn("choreo: not capturing max-deliveries advisories yet; the next subscription tries again. Until then a message whose handler crashed on its last attempt does not show in DeadLetters",
				"stream", s.stream, "consumer", s.consumer, "error", err)
		}
	}
	return s, nil
}

// consumerConfig is the durable consumer of the subscription; resumeAfter,
// when not zero, starts a recreated consumer after that stream sequence.
func (s *Subscription) consumerConfig(resumeAfter uint64) jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:       s.consumer,
		Description:   "choreo " + s.kind.String() + " " + s.name.String(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.ackWait,
		MaxDeliver:    s.cfg.maxDeliver,
		MaxAckPending: max(1000, 2*s.cfg.prefetch),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: s.subject,
		Replicas:      s.b.cfg.replicas,
	}
	if s.cfg.ordered != nil {
		orderedConsumer(&cc)
	}
	switch {
	case resumeAfter > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, resumeAfter+1
	case s.cfg.deliverNew:
		cc.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	return cc
}

// pullExpiry is how long one pull request lives; with idle heartbeats
// every pullHeartbeat, a lost consumer or server is noticed within seconds
// rather than the default half minute.
const (
	pullExpiry    = 10 * time.Second
	pullHeartbeat = time.Second
)

// consume starts pulling. The client buffers at most `prefetch` messages;
// the callback hands each to a free worker and blocks while none is.
func (s *Subscription) consume() error {
	s.mu.Lock()
	cons := s.cons
	s.mu.Unlock()
	d := newDispatcher(s)
	if s.cfg.rate != nil {
		return s.startLimited(cons, d) // ratelimit.go
	}
	callback := d.dispatch
	opts := []jetstream.PullConsumeOpt{
		jetstream.PullMaxMessages(s.cfg.prefetch),
		jetstream.PullExpiry(pullExpiry),
		// Frequent heartbeats bound a stalled pull (the client waiting on a
		// request the server no longer holds) to about two seconds.
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.ConsumeErrHandler(s.consumeError),
	}
	if s.ordered != nil {
		callback = s.ordered.dispatch
		opts = append(opts, jetstream.PullPriorityGroup(topic.OrderedPriorityGroup))
	}
	cc, err := cons.Consume(callback, opts...)
	if err != nil {
		return fmt.Errorf("choreo/bus: consuming %s: %w", s.consumer, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		cc.Stop() // stopped while the consumer was being recreated
		return nil
	}
	s.cc = cc
	s.consuming.Store(time.Now().UnixNano())
	return nil
}

// consumeError is called by nats.go for every consumer problem. Reconnects
// are recovered by nats.go itself; a deleted consumer (or a server that
// lost it) is recreated by the supervisor. Missing heartbeats can mean
// either, so the supervisor checks whether the consumer still exists.
func (s *Subscription) consumeError(_ jetstream.ConsumeContext, err error) {
	switch {
	case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
		s.logger.Warn("choreo: consumer lost; recreating it", "error", err)
	case errors.Is(err, jetstream.ErrNoHeartbeat):
		s.logger.Debug("choreo: heartbeats missing; checking the consumer", "error", err)
	default:
		s.logger.Debug("choreo: consumer problem; nats.go is recovering", "error", err)
		return
	}
	select {
	case s.restart <- struct{}{}:
	default:
	}
}

// supervise recreates the consumer after it was lost, retrying with
// back-off until it succeeds or the subscription stops.
func (s *Subscription) supervise() {
	defer s.supervisor.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.restart:
		}
		s.recreating.Store(true)
		for delay := 100 * time.Millisecond; !s.recreate(); delay = min(2*delay, 5*time.Second) {
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(delay):
			}
		}
		s.recreating.Store(false)
	}
}

// recreate checks that the consumer exists and, if it is gone, creates it
// again, resuming after the last message this instance acknowledged. It
// reports whether consumption is in order.
func (s *Subscription) recreate() bool {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if _, err := s.b.js.Consumer(ctx, s.stream, s.consumer); err == nil {
		return true // still there: nats.go resumes pulling by itself
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.logger.Debug("choreo: cannot check the consumer yet; will retry", "error", err)
		return false
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return true
	}
	old := s.cc
	s.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	cons, err := ensureConsumer(ctx, s.b, s.stream, s.consumerConfig(s.lastAcked.Load()))
	if err != nil {
		s.logger.Warn("choreo: recreating consumer failed; will retry", "error", err)
		return false
	}
	s.mu.Lock()
	s.cons = cons
	s.mu.Unlock()
	if err := s.consume(); err != nil {
		s.logger.Warn("choreo: restarting consumption failed; will retry", "error", err)
		return false
	}
	s.logger.Info("choreo: consumer recreated; consuming again", "resume_after", s.lastAcked.Load())
	return true
}

// Consumer is the name of the durable JetStream consumer behind the
// subscription.
func (s *Subscription) Consumer() string { return s.consumer }

// Stop stops the subscription at once: no more messages are fetched, the
// contexts of running handlers are cancelled, and Stop returns when they
// have returned. Interrupted and buffered messages are handed back to the
// server for immediate redelivery. Prefer Drain for a graceful shutdown.
func (s *Subscription) Stop() {
	s.shutdown(func(cc jetstream.ConsumeContext) { cc.Stop() })
	s.cancel()
	s.wait()
}

// Drain stops fetching, lets the handlers finish the messages already
// received, and returns when they have, or when ctx is done: then the
// remaining handlers' contexts are cancelled, the messages not yet started
// are handed back, and Drain returns ctx's error once the handlers have
// returned.
func (s *Subscription) Drain(ctx context.Context) error {
	s.shutdown(func(cc jetstream.ConsumeContext) { cc.Drain() })
	var err error
	select {
	case <-s.consumed:
		// Every buffered message reached a worker; wait for them to finish.
		err = s.waitWorkers(ctx)
	case <-ctx.Done():
		err = fmt.Errorf("choreo/bus: draining %s: %w; running handlers were cancelled", s.consumer, ctx.Err())
	}
	s.cancel()
	s.wait()
	return err
}

// waitWorkers lets the workers finish their current messages and exit,
// waiting at most until ctx is done.
func (s *Subscription) waitWorkers(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // owned: ends when the workers do, which wait() ensures
		s.stopWorkers()
		s.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("choreo/bus: draining %s: %w; running handlers were cancelled", s.consumer, ctx.Err())
	}
}

// shutdown marks the subscription stopping and ends the current
// consumption with end. It runs once; later calls do nothing.
func (s *Subscription) shutdown(end func(jetstream.ConsumeContext)) {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		cc := s.cc
		s.mu.Unlock()
		s.b.untrack(s)
		if cc == nil {
			close(s.consumed)
			return
		}
		end(cc)
		go func() { // owned: ends when nats.go closes the consume context
			<-cc.Closed()
			close(s.consumed)
		}()
	})
}

// stopWorkers tells the workers to exit once their current message is
// done; messages still waiting in dispatch are handed back to the server.
func (s *Subscription) stopWorkers() {
	s.quitOnce.Do(func() {
		close(s.quit)
		if s.ordered != nil {
			s.ordered.close()
		}
	})
}

// wait ends the workers and the supervisor and waits for them. It does not
// wait for nats.go's own drain, which can take a flush timeout when the
// server is away.
func (s *Subscription) wait() {
	s.stopWorkers()
	s.supervisor.Wait()
	s.workers.Wait()
	s.stopFlow()
}
