package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

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
	b       *Bus
	routes  sync.Map // routeKey -> *route
	mu      sync.Mutex
	streams map[string]*streamEntry // stream name -> provisioning state
}

// streamEntry provisions one stream once: callers for the same stream wait
// for each other, callers for other streams do not.
type streamEntry struct {
	mu    sync.Mutex
	ready bool
	// schedules: the stream allows message schedules (schedule.go), and
	// maxAge is its max age as read then.
	schedules bool
	maxAge    time.Duration
}

type routeKey struct {
	kind topic.Kind
	name string
}

func (c *streamCache) init(b *Bus) {
	c.b = b
	c.streams = make(map[string]*streamEntry)
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
	c.forgetStream(stream)
}

// forgetStream makes the next use of a stream check the server again.
func (c *streamCache) forgetStream(stream string) {
	c.mu.Lock()
	delete(c.streams, stream)
	delete(c.streams, batchedKey(stream))
	c.mu.Unlock()
}

// forgetSubject is forget for a failed message of which only the subject
// is known (an asynchronous publish, perhaps of a delayed message on its
// schedule subject below the topic's); it runs on failures only.
func (c *streamCache) forgetSubject(subject string) {
	c.routes.Range(func(key, value any) bool {
		if r := value.(*route); r.subject == subject || strings.HasPrefix(subject, r.subject+".") {
			c.routes.Delete(key)
			c.forgetStream(r.stream)
		}
		return true
	})
}

func (c *streamCache) ensure(ctx context.Context, k topic.Kind, entity, stream string) error {
	return c.ensureWith(ctx, stream, func() jetstream.StreamConfig { return c.streamConfig(k, entity, stream) })
}

// ensureWith provisions a stream the bus needs besides topic streams (dead
// letters, advisories) once per bus.
func (c *streamCache) ensureWith(ctx context.Context, name string, config func() jetstream.StreamConfig) error {
	return c.onceFor(ctx, name, func() error { return ensureStream(ctx, c.b, config()) })
}

// onceFor runs provision once per key and bus until it succeeds; callers
// for the same key wait for each other.
func (c *streamCache) onceFor(ctx context.Context, name string, provision func() error) error {
	c.mu.Lock()
	e := c.streams[name]
	if e == nil {
		e = &streamEntry{}
		c.streams[name] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ready {
		return nil
	}
	if err := provision(); err != nil {
		return err
	}
	e.ready = true
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
// cannot change in place are an ErrIncompatible error naming the setting.
// Settings several services share (replicas, max age, duplicate window)
// are only ever raised: a bus asking for less keeps the stream as it is and
// says so, so one service cannot shrink what others rely on (a shorter max
// age would delete events other groups have not read yet). A bus without
// provisioning rights only looks the stream up (verifyStream).
func ensureStream(ctx context.Context, b *Bus, want jetstream.StreamConfig) error {
	if !b.cfg.provision {
		return verifyStream(ctx, b, want)
	}
	_, err := provisionStream(ctx, b, want, provisionLazily)
	return err
}

// provisionMode is how provisionStream and provisionConsumer go about it.
type provisionMode int

const (
	// provisionLazily: a bus on first use. It tries to create first, one
	// round trip in the usual case; the server answers an identical
	// create with success, so the reported action may be wrong.
	provisionLazily provisionMode = iota
	// provisionReported: Provision. It looks up first, so the report says
	// what really happened.
	provisionReported
	// provisionDryRun: Provision with a dry run: it looks up only.
	provisionDryRun
)

// provisionStreamOnce is ensureStream for a provisioning bus, reporting
// what it did; a dry run changes nothing and reports what it would do.
// provisionStream calls it again when a request goes unanswered.
func provisionStreamOnce(ctx context.Context, b *Bus, want jetstream.StreamConfig, mode provisionMode) (Change, error) {
	ch := Change{Stream: want.Name, Action: ActionCreated}
	dryRun := mode == provisionDryRun
	var s jetstream.Stream
	var err error
	if mode != provisionLazily {
		s, err = b.js.Stream(ctx, want.Name)
	}
	if mode == provisionLazily || errors.Is(err, jetstream.ErrStreamNotFound) {
		if dryRun {
			return ch, nil
		}
		if _, err = b.js.CreateStream(ctx, want); err == nil {
			return ch, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return ch, fmt.Errorf("choreo/bus: creating stream %s: %w", want.Name, err)
		}
		s, err = b.js.Stream(ctx, want.Name)
	}
	if err != nil {
		return ch, fmt.Errorf("choreo/bus: reading stream %s: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	if err := compatibleStream(have, want); err != nil {
		return ch, err
	}
	update, raised, kept := raiseShared(have, want)
	if len(kept) > 0 {
		b.cfg.logger.Info("choreo: stream keeps settings above what this bus asks for; lower them by hand if that is intended",
			"stream", want.Name, "kept", kept)
	}
	if len(raised) == 0 {
		ch.Action = ActionUnchanged
		return ch, nil
	}
	ch.Action, ch.Detail = ActionUpdated, "raised "+strings.Join(raised, ", ")
	if dryRun {
		return ch, nil
	}
	if _, err := b.js.UpdateStream(ctx, update); err != nil {
		return ch, fmt.Errorf("%w: stream %s: raising %v: %v", ErrIncompatible, want.Name, raised, err)
	}
	b.cfg.logger.Warn("choreo: stream settings raised to what this bus asks for", "stream", want.Name, "raised", raised)
	return ch, nil
}

// compatibleStream checks the settings of an existing stream that cannot
// change in place.
func compatibleStream(have, want jetstream.StreamConfig) error {
	if have.Retention != want.Retention {
		return fmt.Errorf("%w: stream %s has retention %s, choreo needs %s; delete the stream or use another namespace",
			ErrIncompatible, want.Name, have.Retention, want.Retention)
	}
	if have.Storage != want.Storage {
		return fmt.Errorf("%w: stream %s has storage %s, choreo needs %s; delete the stream or use another namespace",
			ErrIncompatible, want.Name, have.Storage, want.Storage)
	}
	if !slices.Contains(have.Subjects, want.Subjects[0]) {
		return fmt.Errorf("%w: stream %s listens on %v, not on %s; it was not made by choreo, rename it or use another namespace",
			ErrIncompatible, want.Name, have.Subjects, want.Subjects[0])
	}
	return nil
}

// raiseShared returns have with every shared setting raised to want where
// want is higher, and what was raised and what was kept higher.
func raiseShared(have, want jetstream.StreamConfig) (update jetstream.StreamConfig, raised, kept []string) {
	update = have
	note := func(name string, from, to any, higher bool) {
		switch {
		case higher:
			raised = append(raised, fmt.Sprintf("%s %v -> %v", name, from, to))
		case from != to:
			kept = append(kept, fmt.Sprintf("%s %v (asked %v)", name, from, to))
		}
	}
	if want.Replicas > have.Replicas {
		update.Replicas = want.Replicas
	}
	note("replicas", have.Replicas, want.Replicas, want.Replicas > have.Replicas)
	// A max age of 0 keeps messages forever: the longest of all.
	longer := have.MaxAge != 0 && (want.MaxAge == 0 || want.MaxAge > have.MaxAge)
	if longer {
		update.MaxAge = want.MaxAge
	}
	note("max_age", have.MaxAge, want.MaxAge, longer)
	if want.Duplicates > have.Duplicates {
		update.Duplicates = want.Duplicates
	}
	note("duplicate_window", have.Duplicates, want.Duplicates, want.Duplicates > have.Duplicates)
	// A max bytes of -1 (or 0, unset) is unlimited: the largest of all.
	bigger := have.MaxBytes > 0 && (want.MaxBytes <= 0 || want.MaxBytes > have.MaxBytes)
	if bigger {
		update.MaxBytes = want.MaxBytes
	}
	unlimited := func(n int64) any {
		if n <= 0 {
			return "unlimited"
		}
		return n
	}
	note("max_bytes", unlimited(have.MaxBytes), unlimited(want.MaxBytes), bigger)
	return update, raised, kept
}

// ensureConsumer creates a durable consumer, or checks an existing one the
// same way ensureStream checks streams. A bus without provisioning rights
// only looks it up (verifyConsumer).
func ensureConsumer(ctx context.Context, b *Bus, stream string, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	if !b.cfg.provision {
		return verifyConsumer(ctx, b, stream, want)
	}
	c, _, err := provisionConsumer(ctx, b, stream, want, provisionLazily)
	return c, err
}

// provisionConsumerOnce is ensureConsumer for a provisioning bus,
// reporting what it did; a dry run changes nothing (and returns no
// consumer). provisionConsumer calls it again when a request goes
// unanswered.
func provisionConsumerOnce(ctx context.Context, b *Bus, stream string, want jetstream.ConsumerConfig, mode provisionMode) (jetstream.Consumer, Change, error) {
	ch := Change{Stream: stream, Consumer: want.Durable, Action: ActionCreated}
	dryRun := mode == provisionDryRun
	var c jetstream.Consumer
	var err error
	if mode != provisionLazily {
		c, err = b.js.Consumer(ctx, stream, want.Durable)
	}
	if mode == provisionLazily || errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		if dryRun {
			return nil, ch, nil
		}
		if c, err = b.js.CreateConsumer(ctx, stream, want); err == nil {
			return c, ch, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerExists) {
			return nil, ch, consumerError(want, stream, err)
		}
		c, err = b.js.Consumer(ctx, stream, want.Durable)
	}
	if err != nil {
		return nil, ch, fmt.Errorf("choreo/bus: reading consumer %s on %s: %w", want.Durable, stream, err)
	}
	have := c.CachedInfo().Config
	if err := compatibleConsumer(stream, have, want); err != nil {
		return nil, ch, err
	}
	if resumes(have, want) {
		// Keep where a recreated consumer started; it cannot change.
		want.DeliverPolicy, want.OptStartSeq = have.DeliverPolicy, have.OptStartSeq
	}
	if sameConsumer(have, want) {
		ch.Action = ActionUnchanged
		return c, ch, nil
	}
	ch.Action = ActionUpdated
	ch.Detail = fmt.Sprintf("max_deliver %d -> %d, ack_wait %s -> %s, max_ack_pending %d -> %d, filter_subjects %v -> %v",
		have.MaxDeliver, want.MaxDeliver, have.AckWait, want.AckWait, have.MaxAckPending, want.MaxAckPending, filterSubjects(have), filterSubjects(want))
	if dryRun {
		return nil, ch, nil
	}
	c, err = b.js.UpdateConsumer(ctx, stream, want)
	if err != nil {
		return nil, ch, fmt.Errorf("%w: consumer %s on %s: %v", ErrIncompatible, want.Durable, stream, err)
	}
	b.cfg.logger.Warn("choreo: consumer settings updated to match this subscription",
		"consumer", want.Durable, "stream", stream,
		"max_deliver", fmt.Sprintf("%d -> %d", have.MaxDeliver, want.MaxDeliver),
		"ack_wait", fmt.Sprintf("%s -> %s", have.AckWait, want.AckWait),
		"filter_subjects", fmt.Sprintf("%v -> %v", filterSubjects(have), filterSubjects(want)))
	return c, ch, nil
}

// compatibleConsumer checks the settings of an existing consumer that
// cannot change in place.
func compatibleConsumer(stream string, have, want jetstream.ConsumerConfig) error {
	if have.AckPolicy != want.AckPolicy {
		return fmt.Errorf("%w: consumer %s on %s has ack policy %s, choreo needs %s; delete the consumer",
			ErrIncompatible, want.Durable, stream, have.AckPolicy, want.AckPolicy)
	}
	if have.DeliverPolicy != want.DeliverPolicy && !resumes(have, want) {
		return fmt.Errorf("%w: consumer %s on %s has deliver policy %s, this subscription asks for %s; it cannot change once the group exists (delete the consumer to start the group over)",
			ErrIncompatible, want.Durable, stream, have.DeliverPolicy, want.DeliverPolicy)
	}
	return nil
}

// resumes reports whether have is a consumer recreated after a loss
// (started at a sequence) of the one want asks for from the start: the same
// group, compatible.
func resumes(have, want jetstream.ConsumerConfig) bool {
	return (have.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && want.DeliverPolicy == jetstream.DeliverAllPolicy) ||
		(want.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && have.DeliverPolicy == jetstream.DeliverAllPolicy)
}

func sameConsumer(have, want jetstream.ConsumerConfig) bool {
	if have.MaxDeliver != want.MaxDeliver || have.AckWait != want.AckWait ||
		have.MaxAckPending != want.MaxAckPending || have.Replicas != want.Replicas ||
		have.PriorityPolicy != want.PriorityPolicy || !slices.Equal(have.PriorityGroups, want.PriorityGroups) {
		return false
	}
	return slices.Equal(filterSubjects(have), filterSubjects(want))
}

// filterSubjects lists a consumer's filters whichever field holds them.
func filterSubjects(c jetstream.ConsumerConfig) []string {
	if c.FilterSubject != "" {
		return append([]string{c.FilterSubject}, c.FilterSubjects...)
	}
	return c.FilterSubjects
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
	errCodeMessageTooLarge      jetstream.ErrorCode = 10054
	errCodeHeaderTooLarge       jetstream.ErrorCode = 10097
)
