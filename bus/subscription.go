package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// Subscription is a running handler: a durable consumer and the workers
// that run the handler for its messages. Stop or Drain it (or Close the bus)
// to release its goroutines. Its methods are safe for concurrent use.
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

	cons jetstream.Consumer
	work chan jetstream.Msg // unbuffered: the nats.go buffer is the only one

	// ctx is the parent of every handler context: cancelled by Stop, or
	// when Drain's context is done.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cc       jetstream.ConsumeContext
	stopping bool
	restart  chan struct{} // consumer lost: the supervisor recreates it

	consumed   chan struct{} // closed when the dispatch callback can no longer run
	closeWork  sync.Once
	workers    sync.WaitGroup
	supervisor sync.WaitGroup
	stopOnce   sync.Once
}

func (b *Bus) subscribe(k topic.Kind, n topic.Name, group string, decode func(*Delivery) error, inner HandlerFunc, opts []SubscribeOption) (*Subscription, error) {
	if err := b.enter(); err != nil {
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
	if group == "" || sanitizeToken(group) != group {
		return nil, fmt.Errorf("%w: group %q: use letters, digits, '-' and '_' only, e.g. \"email\"", ErrInvalidOption, group)
	}
	if k == topic.KindCommand && cfg.deliverNew {
		return nil, fmt.Errorf("%w: WithDeliverNew applies to event groups; a command is always delivered", ErrInvalidOption)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := b.streams.route(ctx, k, n)
	if err != nil {
		return nil, err
	}
	s := &Subscription{
		b: b, kind: k, name: n, consumer: consumerName(group, n), stream: r.stream, subject: r.subject,
		cfg: cfg, decode: decode, work: make(chan jetstream.Msg), restart: make(chan struct{}, 1), consumed: make(chan struct{}),
	}
	s.logger = b.cfg.logger.With("topic", n.String(), "consumer", s.consumer)
	mws := append(append([]Middleware(nil), b.cfg.middleware...), cfg.middleware...)
	s.handler = chain(inner, mws...)
	if s.cons, err = ensureConsumer(ctx, b, s.stream, s.consumerConfig()); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.consume(); err != nil {
		s.cancel()
		return nil, err
	}
	for range cfg.concurrency {
		s.workers.Add(1)
		go s.worker()
	}
	s.supervisor.Add(1)
	go s.supervise()
	b.track(s)
	b.deadLetters.start(b)
	return s, nil
}

func (s *Subscription) consumerConfig() jetstream.ConsumerConfig {
	deliver := jetstream.DeliverAllPolicy
	if s.cfg.deliverNew {
		deliver = jetstream.DeliverNewPolicy
	}
	return jetstream.ConsumerConfig{
		Durable:        s.consumer,
		Description:    "choreo " + s.kind.String() + " " + s.name.String(),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        s.cfg.ackWait,
		MaxDeliver:     s.cfg.maxDeliver,
		MaxAckPending:  max(1000, 2*s.cfg.concurrency),
		DeliverPolicy:  deliver,
		FilterSubjects: []string{s.subject, redeliverSubject(s.subject, s.consumer)},
		Replicas:       s.b.cfg.replicas,
	}
}

// consume starts pulling. The client buffers at most `concurrency` messages;
// the Consume callback hands each to a free worker and blocks while none is.
func (s *Subscription) consume() error {
	cc, err := s.cons.Consume(s.dispatch,
		jetstream.PullMaxMessages(s.cfg.concurrency),
		// A shorter pull expiry than the 30s default means heartbeats every
		// 5s, so a lost consumer or server is noticed within seconds.
		jetstream.PullExpiry(pullExpiry),
		jetstream.ConsumeErrHandler(s.consumeError),
	)
	if err != nil {
		return fmt.Errorf("choreo/bus: consuming %s: %w", s.consumer, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		// Stopped while the consumer was being recreated.
		cc.Stop()
		return nil
	}
	s.cc = cc
	return nil
}

func (s *Subscription) dispatch(msg jetstream.Msg) {
	select {
	case s.work <- msg:
	case <-s.ctx.Done():
		// Stopped: the server redelivers the message after its ack wait.
	}
}

// pullExpiry is how long one pull request lives; the server sends idle
// heartbeats every half of it.
const pullExpiry = 10 * time.Second

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
		for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
			if s.recreate() {
				break
			}
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(delay):
			}
		}
	}
}

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
	if s.cc != nil {
		s.cc.Stop()
	}
	s.mu.Unlock()
	cons, err := ensureConsumer(ctx, s.b, s.stream, s.consumerConfig())
	if err != nil {
		s.logger.Warn("choreo: recreating consumer failed; will retry", "error", err)
		return false
	}
	s.cons = cons
	if err := s.consume(); err != nil {
		s.logger.Warn("choreo: restarting consumption failed; will retry", "error", err)
		return false
	}
	s.logger.Info("choreo: consumer recreated; consuming again")
	return true
}

// Consumer is the name of the durable JetStream consumer behind the
// subscription.
func (s *Subscription) Consumer() string { return s.consumer }

// Stop stops the subscription at once: no more messages are fetched, the
// contexts of running handlers are cancelled, and Stop returns when they
// have returned. Messages interrupted or still buffered are redelivered by
// the server. Prefer Drain for a graceful shutdown.
func (s *Subscription) Stop() {
	s.shutdown(func(cc jetstream.ConsumeContext) { cc.Stop() })
	s.cancel()
	s.wait()
}

// Drain stops fetching, lets the handlers finish the messages already
// received, and returns when they have, or when ctx is done: then the
// remaining handlers' contexts are cancelled and Drain returns ctx's error
// once they have returned.
func (s *Subscription) Drain(ctx context.Context) error {
	s.shutdown(func(cc jetstream.ConsumeContext) { cc.Drain() })
	var err error
	select {
	case <-s.consumed:
	case <-ctx.Done():
		err = fmt.Errorf("choreo/bus: draining %s: %w; running handlers were cancelled", s.consumer, ctx.Err())
	}
	s.cancel()
	s.wait()
	return err
}

// shutdown marks the subscription stopping and ends the current
// consumption with end; s.consumed is closed once nats.go will call the
// dispatch callback no more. It runs once; later calls do nothing.
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
		go func() {
			<-cc.Closed()
			close(s.consumed)
		}()
	})
}

// wait closes the work channel once no callback can send any more, and
// waits for the workers and the supervisor.
func (s *Subscription) wait() {
	<-s.consumed
	s.supervisor.Wait()
	s.closeWork.Do(func() { close(s.work) })
	s.workers.Wait()
}
