package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
)

// watermillSystem is Watermill with watermill-nats v2's pkg/nats in
// JetStream mode: the package its docs recommend for production (pkg/jetstream
// is marked experimental). Configuration, from the docs and watermill's
// own benchmark:
//   - TrackMsgId: the message UUID becomes Nats-Msg-Id (server dedupe, as
//     choreo and raw);
//   - a durable queue group (DurablePrefix + QueueGroupPrefix), DeliverAll,
//     AckExplicit, SubscribersCount = the concurrency of the other systems;
//   - handlers run by a message.Router with the Recoverer middleware (choreo
//     recovers panics too);
//   - AckAsync true by default: the ack is sent without waiting for the
//     server's confirmation, as choreo and raw do. The "watermill-acksync"
//     variant leaves it false, which the docs require for exactly-once.
//   - the publisher does not auto-provision: with AutoProvision it asks the
//     server for the stream's info before every Publish. The stream is
//     provisioned once, by the subscriber (SubscribeInitialize).
//
// Publish blocks until the server's ack and there is no asynchronous
// variant, so the async scenarios pipeline it with env.publishers
// goroutines, as watermill's own benchmark does (200).
type watermillSystem struct {
	env   runEnv
	topic string

	pub    *wmnats.Publisher
	sub    *wmnats.Subscriber
	router *message.Router

	jobs    chan Payload
	pubWG   sync.WaitGroup
	pubMu   sync.Mutex
	pubErrs []error
}

var wmLogger = watermill.NopLogger{}

func newWatermill(_ context.Context, env runEnv, ackSync bool) (system, error) {
	s := &watermillSystem{env: env, topic: "WM_" + env.id}
	var err error
	s.pub, err = wmnats.NewPublisher(wmnats.PublisherConfig{
		URL:       env.url,
		Marshaler: &wmnats.NATSMarshaler{},
		JetStream: wmnats.JetStreamConfig{TrackMsgId: true},
	}, wmLogger)
	if err != nil {
		return nil, fmt.Errorf("watermill: publisher: %w", err)
	}
	s.sub, err = wmnats.NewSubscriber(wmnats.SubscriberConfig{
		URL:              env.url,
		QueueGroupPrefix: "bench",
		SubscribersCount: env.concurrency,
		AckWaitTimeout:   ackWait,
		CloseTimeout:     30 * time.Second,
		Unmarshaler:      &wmnats.NATSMarshaler{},
		JetStream: wmnats.JetStreamConfig{
			AutoProvision:    true,
			SubscribeOptions: []nats.SubOpt{nats.DeliverAll(), nats.AckExplicit(), nats.AckWait(ackWait)},
			TrackMsgId:       true,
			AckAsync:         !ackSync,
			DurablePrefix:    "bench",
		},
	}, wmLogger)
	if err != nil {
		_ = s.pub.Close()
		return nil, fmt.Errorf("watermill: subscriber: %w", err)
	}
	if err := s.sub.SubscribeInitialize(s.topic); err != nil {
		_ = s.sub.Close()
		_ = s.pub.Close()
		return nil, fmt.Errorf("watermill: provision: %w", err)
	}
	return s, nil
}

func (s *watermillSystem) publish(p *Payload) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.pub.Publish(s.topic, message.NewMessage(watermill.NewUUID(), data))
}

func (s *watermillSystem) PublishSync(_ context.Context, p *Payload) error { return s.publish(p) }

func (s *watermillSystem) PublishAsync(ctx context.Context, p *Payload) error {
	if s.jobs == nil {
		s.jobs = make(chan Payload, s.env.publishers)
		for range s.env.publishers {
			s.pubWG.Add(1)
			go s.publisher()
		}
	}
	select {
	case s.jobs <- *p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *watermillSystem) publisher() {
	defer s.pubWG.Done()
	for p := range s.jobs {
		if err := s.publish(&p); err != nil {
			s.pubMu.Lock()
			s.pubErrs = append(s.pubErrs, err)
			s.pubMu.Unlock()
		}
	}
}

func (s *watermillSystem) Flush(ctx context.Context) error {
	if s.jobs == nil {
		return nil
	}
	close(s.jobs)
	s.jobs = nil
	done := make(chan struct{})
	go func() { s.pubWG.Wait(); close(done) }()
	if err := waitDone(ctx, done, "watermill: flush"); err != nil {
		return err
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if len(s.pubErrs) > 0 {
		return fmt.Errorf("watermill: %d publishes failed: %w", len(s.pubErrs), s.pubErrs[0])
	}
	return nil
}

func (s *watermillSystem) Subscribe(_ context.Context, _ int, handle func(*Payload)) error {
	var err error
	s.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wmLogger)
	if err != nil {
		return err
	}
	s.router.AddMiddleware(middleware.Recoverer)
	s.router.AddConsumerHandler("bench", s.topic, s.sub, func(m *message.Message) error {
		var p Payload
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			return err
		}
		handle(&p)
		return nil
	})
	go func() { _ = s.router.Run(context.Background()) }()
	<-s.router.Running()
	return nil
}

func (s *watermillSystem) Close(ctx context.Context) error {
	errs := []error{s.Flush(ctx)}
	if s.router != nil {
		errs = append(errs, s.router.Close())
	}
	errs = append(errs, s.sub.Close(), s.pub.Close())
	return errors.Join(errs...)
}
