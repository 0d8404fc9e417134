package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// route is where one topic goes on the wire: computed and provisioned once
// per bus, then read lock-free on every publish.
type route struct {
	subject string
	stream  string
}

// streamCache provisions streams on first use and remembers the result, so
// the publish hot path does a map lookup and no server round trip.
type streamCache struct {
	b      *Bus
	routes sync.Map // routeKey -> *route
	mu     sync.Mutex
	ready  map[string]bool // stream name -> provisioned
}

type routeKey struct {
	kind topic.Kind
	name string
}

func (c *streamCache) init(b *Bus) {
	c.b = b
	c.ready = make(map[string]bool)
}

// route returns the provisioned route of a topic, creating its stream on
// first use.
func (c *streamCache) route(ctx context.Context, k topic.Kind, n topic.Name) (*route, error) {
	key := routeKey{k, n.String()}
	if r, ok := c.routes.Load(key); ok {
		return r.(*route), nil
	}
	if n.IsZero() {
		return nil, fmt.Errorf("%w: the topic is the zero value; create it with topic.NewCommand/NewEvent or MustCommand/MustEvent", topic.ErrInvalidName)
	}
	ns := c.b.cfg.namespace
	r := &route{subject: topic.Subject(ns, k, n), stream: topic.Stream(ns, k, n.Entity)}
	if err := c.ensure(ctx, k, n.Entity, r.stream); err != nil {
		return nil, err
	}
	c.routes.Store(key, r)
	return r, nil
}

// forget drops a topic's cached route and stream, so the next use checks
// the server again (after the stream was deleted behind our back).
func (c *streamCache) forget(k topic.Kind, n topic.Name, stream string) {
	c.routes.Delete(routeKey{k, n.String()})
	c.mu.Lock()
	delete(c.ready, stream)
	c.mu.Unlock()
}

func (c *streamCache) ensure(ctx context.Context, k topic.Kind, entity, stream string) error {
	return c.ensureWith(ctx, stream, func() jetstream.StreamConfig { return c.streamConfig(k, entity, stream) })
}

// ensureWith provisions a stream the bus needs besides topic streams (dead
// letters, advisories) once per bus.
func (c *streamCache) ensureWith(ctx context.Context, name string, config func() jetstream.StreamConfig) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready[name] {
		return nil
	}
	if err := ensureStream(ctx, c.b, config()); err != nil {
		return err
	}
	c.ready[name] = true
	return nil
}

func (c *streamCache) streamConfig(k topic.Kind, entity, stream string) jetstream.StreamConfig {
	cfg := c.b.cfg
	sc := jetstream.StreamConfig{
		Name:       stream,
		Subjects:   []string{topic.StreamSubjects(cfg.namespace, k, entity)},
		Storage:    jetstream.FileStorage,
		Replicas:   cfg.replicas,
		Duplicates: cfg.duplicateWindow,
	}
	if k == topic.KindCommand {
		sc.Description = "choreo commands for " + entity + ": each is handled once, then removed"
		sc.Retention = jetstream.WorkQueuePolicy
	} else {
		sc.Description = "choreo events for " + entity
		sc.Retention = jetstream.LimitsPolicy
		sc.MaxAge = cfg.eventMaxAge
	}
	return sc
}

// ensureStream creates a stream, or checks an existing one: settings that
// cannot change in place are an ErrIncompatible error naming the setting;
// settings that can (replicas, max age, duplicate window) are updated, and
// the change is logged.
func ensureStream(ctx context.Context, b *Bus, want jetstream.StreamConfig) error {
	_, err := b.js.CreateStream(ctx, want)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("choreo/bus: creating stream %s: %w", want.Name, err)
	}
	s, err := b.js.Stream(ctx, want.Name)
	if err != nil {
		return fmt.Errorf("choreo/bus: reading stream %s: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	if have.Retention != want.Retention {
		return fmt.Errorf("%w: stream %s has retention %s, choreo needs %s; delete the stream or use another namespace",
			ErrIncompatible, want.Name, have.Retention, want.Retention)
	}
	if have.Storage != want.Storage {
		return fmt.Errorf("%w: stream %s has storage %s, choreo needs %s; delete the stream or use another namespace",
			ErrIncompatible, want.Name, have.Storage, want.Storage)
	}
	if !contains(have.Subjects, want.Subjects[0]) {
		return fmt.Errorf("%w: stream %s listens on %v, not on %s; it was not made by choreo, rename it or use another namespace",
			ErrIncompatible, want.Name, have.Subjects, want.Subjects[0])
	}
	if have.Replicas == want.Replicas && have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates {
		return nil
	}
	update := have
	update.Replicas, update.MaxAge, update.Duplicates = want.Replicas, want.MaxAge, want.Duplicates
	if _, err := b.js.UpdateStream(ctx, update); err != nil {
		return fmt.Errorf("%w: stream %s: updating replicas/max age/duplicate window: %v", ErrIncompatible, want.Name, err)
	}
	b.cfg.logger.Warn("choreo: stream settings updated to match this bus",
		"stream", want.Name,
		"replicas", fmt.Sprintf("%d -> %d", have.Replicas, want.Replicas),
		"max_age", fmt.Sprintf("%s -> %s", have.MaxAge, want.MaxAge),
		"duplicates", fmt.Sprintf("%s -> %s", have.Duplicates, want.Duplicates))
	return nil
}

// ensureConsumer creates a durable consumer, or checks an existing one the
// same way ensureStream checks streams.
func ensureConsumer(ctx context.Context, b *Bus, stream string, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := b.js.CreateConsumer(ctx, stream, want)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerExists) {
		return nil, consumerError(want, stream, err)
	}
	c, err = b.js.Consumer(ctx, stream, want.Durable)
	if err != nil {
		return nil, fmt.Errorf("choreo/bus: reading consumer %s on %s: %w", want.Durable, stream, err)
	}
	have := c.CachedInfo().Config
	if have.AckPolicy != want.AckPolicy {
		return nil, fmt.Errorf("%w: consumer %s on %s has ack policy %s, choreo needs %s; delete the consumer",
			ErrIncompatible, want.Durable, stream, have.AckPolicy, want.AckPolicy)
	}
	if have.DeliverPolicy != want.DeliverPolicy {
		return nil, fmt.Errorf("%w: consumer %s on %s has deliver policy %s, this subscription asks for %s; it cannot change once the group exists (delete the consumer to start the group over)",
			ErrIncompatible, want.Durable, stream, have.DeliverPolicy, want.DeliverPolicy)
	}
	if sameConsumer(have, want) {
		return c, nil
	}
	c, err = b.js.UpdateConsumer(ctx, stream, want)
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %s on %s: %v", ErrIncompatible, want.Durable, stream, err)
	}
	b.cfg.logger.Warn("choreo: consumer settings updated to match this subscription",
		"consumer", want.Durable, "stream", stream,
		"max_deliver", fmt.Sprintf("%d -> %d", have.MaxDeliver, want.MaxDeliver),
		"ack_wait", fmt.Sprintf("%s -> %s", have.AckWait, want.AckWait))
	return c, nil
}

func sameConsumer(have, want jetstream.ConsumerConfig) bool {
	if have.MaxDeliver != want.MaxDeliver || have.AckWait != want.AckWait ||
		have.MaxAckPending != want.MaxAckPending || have.Replicas != want.Replicas ||
		len(have.FilterSubjects) != len(want.FilterSubjects) {
		return false
	}
	for i := range want.FilterSubjects {
		if have.FilterSubjects[i] != want.FilterSubjects[i] {
			return false
		}
	}
	return true
}

// consumerError explains the server's refusal in the terms of choreo.
func consumerError(want jetstream.ConsumerConfig, stream string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeWQMultipleUnfiltered || apiErr.ErrorCode == errCodeWQNotUnique) {
		return fmt.Errorf("%w: cannot create consumer %s on %s: another service already handles this command (a command has exactly one handler group): %v",
			ErrIncompatible, want.Durable, stream, err)
	}
	return fmt.Errorf("choreo/bus: creating consumer %s on %s: %w", want.Durable, stream, err)
}

// Server error codes (nats-server errors.json) for a second consumer on the
// subjects of a work-queue stream; nats.go exports no constants for them.
const (
	errCodeWQMultipleUnfiltered jetstream.ErrorCode = 10099
	errCodeWQNotUnique          jetstream.ErrorCode = 10100
)

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
