package bus

import (
	"context"
	"fmt"

	"github.com/choreo-bus/choreo/topic"
)

// Provisioning as a step of its own: an operator (`choreo provision`)
// creates what services running WithoutProvisioning only look up, with the
// very configurations a provisioning bus would create.

// Action is what provisioning did, or with a dry run would do, to one
// stream or consumer.
type Action string

const (
	// ActionCreated: it did not exist and was created.
	ActionCreated Action = "create"
	// ActionUpdated: it existed with settings below what was asked (shared
	// stream settings are only ever raised) and was updated.
	ActionUpdated Action = "update"
	// ActionUnchanged: it existed as asked.
	ActionUnchanged Action = "unchanged"
)

// Change is one stream or consumer that Provision looked at.
type Change struct {
	// Stream is the stream, or for a consumer the stream it reads.
	Stream string
	// Consumer is the durable consumer's name; "" for a stream.
	Consumer string
	// Action is what was done (with a dry run: what would be).
	Action Action
	// Detail says what an update changes.
	Detail string
}

// String describes the change in one line, e.g. "create stream EVT_user"
// or "unchanged consumer email__v1_user_signedup on EVT_user".
func (c Change) String() string {
	s := string(c.Action) + " "
	if c.Consumer != "" {
		s += "consumer " + c.Consumer + " on " + c.Stream
	} else {
		s += "stream " + c.Stream
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Requirement is one thing a system needs on the server: a topic's stream
// (Group empty: its senders or publishers), or a group's consumer on the
// topic with everything it needs around it.
type Requirement struct {
	Kind  topic.Kind
	Topic topic.Name
	// Group is the handling service (a command) or subscriber group (an
	// event); "" for the stream alone.
	Group string
	// Options are the subscription's options as the group's code passes
	// them (max deliver, ack wait, prefetch go into its consumer); none
	// means the bus's defaults.
	Options []SubscribeOption
}

// Provision creates or updates, with this bus's settings (namespace,
// replicas, retention), what r needs: the topic's stream; and for a group
// its durable consumer, the dead-letter stream, the stream capturing the
// topic stream's max-deliveries advisories and the group's converter
// consumer there. It is what a provisioning bus does on first use, done
// ahead of time by an operator for services that run WithoutProvisioning.
// Shared stream settings are only ever raised; settings that cannot change
// are an ErrIncompatible error. With dryRun it changes nothing and reports
// what it would do. It returns every stream and consumer it looked at, in
// that order, also those left unchanged.
func (b *Bus) Provision(ctx context.Context, r Requirement, dryRun bool) ([]Change, error) {
	if err := b.enterBeforeClose(); err != nil {
		return nil, err
	}
	defer b.leave()
	if !b.cfg.provision {
		return nil, fmt.Errorf("%w: Provision on a bus made WithoutProvisioning", ErrInvalidOption)
	}
	if r.Topic.IsZero() || (r.Kind != topic.KindCommand && r.Kind != topic.KindEvent) {
		return nil, fmt.Errorf("%w: a requirement needs a kind and a topic", ErrInvalidOption)
	}
	mode := provisionReported
	if dryRun {
		mode = provisionDryRun
	}
	ns := b.cfg.namespace
	stream := topic.Stream(ns, r.Kind, r.Topic.Entity)
	var out []Change
	ch, err := provisionStream(ctx, b, b.streams.streamConfig(r.Kind, r.Topic.Entity, stream), mode)
	out = append(out, ch)
	if err != nil || r.Group == "" {
		return out, err
	}
	cfg := defaultSubscribeConfig()
	for _, o := range r.Options {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return out, err
	}
	if err := topic.ValidateGroup(r.Group); err != nil {
		return out, optionError("group", err)
	}
	s := &Subscription{b: b, kind: r.Kind, name: r.Topic, consumer: topic.ConsumerName(r.Group, r.Topic),
		stream: stream, subject: topic.Subject(ns, r.Kind, r.Topic), cfg: cfg}
	steps := []func() (Change, error){
		func() (Change, error) {
			_, ch, err := provisionConsumer(ctx, b, stream, s.consumerConfig(0), mode)
			return ch, err
		},
		func() (Change, error) { return provisionStream(ctx, b, b.deadLetterStreamConfig(), mode) },
		func() (Change, error) { return provisionStream(ctx, b, b.advisoryStreamConfig(stream), mode) },
		func() (Change, error) {
			_, ch, err := provisionConsumer(ctx, b, topic.AdvisoryStream(stream), b.advisoryConsumerConfig(stream, s.consumer), mode)
			return ch, err
		},
	}
	for _, step := range steps {
		ch, err := step()
		out = append(out, ch)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
