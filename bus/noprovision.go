package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// On a secured cluster an operator owns the infrastructure: `choreo
// provision` creates every stream and consumer the catalog implies, and the
// services run WithoutProvisioning, with permissions that let them look
// things up but never create, change or delete them (see `choreo gen
// permissions`).

// ErrNotProvisioned is matched (errors.Is) by the error of a bus running
// WithoutProvisioning that needs a stream or consumer that does not exist:
// the error names each one missing and the command that creates them.
var ErrNotProvisioned = errors.New("choreo/bus: not provisioned")

// WithoutProvisioning makes the bus use streams and consumers without ever
// creating, updating or deleting them: it only looks them up (JetStream
// stream and consumer info requests), so the service needs no
// administration rights. A subscription checks at start that its topic
// stream, its consumer, the dead-letter stream, the stream capturing its
// topic stream's max-deliveries advisories and its consumer there all
// exist, and fails with an ErrNotProvisioned error naming every one that
// does not; a publish fails the same way when its stream is missing. Run
// `choreo provision -catalog FILE` with an operator's credentials to create
// them. The settings of an existing consumer win over the subscription's:
// its max deliver and ack wait are adopted (with a warning when they
// differ), since the bus may not change them. Default: the bus creates
// what it needs and raises shared settings.
func WithoutProvisioning() Option { return func(c *config) { c.provision = false } }

// verifyStream looks up a stream a bus without provisioning rights needs.
func verifyStream(ctx context.Context, b *Bus, want jetstream.StreamConfig) error {
	s, err := b.js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return b.notProvisioned([]string{"stream " + want.Name})
	}
	if err != nil {
		return fmt.Errorf("choreo/bus: looking up stream %s: %w", want.Name, err)
	}
	return compatibleStream(s.CachedInfo().Config, want)
}

// verifyConsumer looks up a consumer a bus without provisioning rights
// needs.
func verifyConsumer(ctx context.Context, b *Bus, stream string, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := b.js.Consumer(ctx, stream, want.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, b.notProvisioned([]string{"consumer " + want.Durable + " on " + stream})
	}
	if err != nil {
		return nil, fmt.Errorf("choreo/bus: looking up consumer %s on %s: %w", want.Durable, stream, err)
	}
	have := c.CachedInfo().Config
	if err := compatibleConsumer(stream, have, want); err != nil {
		return nil, err
	}
	if !slices.Equal(filterSubjects(have), filterSubjects(want)) {
		return nil, fmt.Errorf("%w: consumer %s on %s reads %v, this subscription needs %v; provision it again (choreo provision) or delete it",
			ErrIncompatible, want.Durable, stream, filterSubjects(have), filterSubjects(want))
	}
	return c, nil
}

// verifyGroup checks, for a subscription of a bus without provisioning
// rights, everything it needs at once, so that the error names all that is
// missing rather than the first.
func (b *Bus) verifyGroup(ctx context.Context, k topic.Kind, n topic.Name, consumer string) error {
	ns := b.cfg.namespace
	stream := topic.Stream(ns, k, n.Entity)
	advisories := topic.AdvisoryStream(stream)
	var missing []string
	lookups := []struct {
		what             string
		stream, consumer string
	}{
		{"stream " + stream, stream, ""},
		{"consumer " + consumer + " on " + stream, stream, consumer},
		{"stream " + topic.DeadLetterStream(ns), topic.DeadLetterStream(ns), ""},
		{"stream " + advisories, advisories, ""},
		{"consumer " + topic.AdvisoryConsumer(consumer) + " on " + advisories, advisories, topic.AdvisoryConsumer(consumer)},
	}
	for _, l := range lookups {
		var err error
		if l.consumer == "" {
			_, err = b.js.Stream(ctx, l.stream)
		} else {
			_, err = b.js.Consumer(ctx, l.stream, l.consumer)
		}
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrConsumerNotFound):
			missing = append(missing, l.what)
		case err != nil:
			return fmt.Errorf("choreo/bus: looking up %s: %w", l.what, err)
		}
	}
	if len(missing) > 0 {
		return b.notProvisioned(missing)
	}
	return nil
}

// notProvisioned is the ErrNotProvisioned error for what is missing.
func (b *Bus) notProvisioned(missing []string) error {
	cmd := "choreo provision -catalog <your catalog.yaml>"
	if ns := b.cfg.namespace; ns != "" {
		cmd += " -namespace " + ns
	}
	return fmt.Errorf("%w: %s missing; this bus runs WithoutProvisioning and may not create it: run `%s` with an operator's credentials",
		ErrNotProvisioned, strings.Join(missing, ", "), cmd)
}

// settingNotProvisioned is the error of a bus running WithoutProvisioning
// that needs a stream setting the catalog cannot express (message
// schedules, batches): only an operator can turn it on.
func (b *Bus) settingNotProvisioned(setting, stream, feature string) error {
	return fmt.Errorf("%w: %s needs %s on stream %s, which is off; this bus runs WithoutProvisioning and may not change the stream: ask an operator to turn %s on (for example `nats stream edit %s` with an operator's credentials)",
		ErrNotProvisioned, feature, setting, stream, setting, stream)
}

// adoptConsumer takes over the settings of a consumer a bus without
// provisioning rights found, where they differ from the subscription's.
func (s *Subscription) adoptConsumer(c jetstream.Consumer) {
	have := c.CachedInfo().Config
	if have.MaxDeliver == s.cfg.maxDeliver && have.AckWait == s.cfg.ackWait {
		return
	}
	s.logger.Warn("choreo: the provisioned consumer's settings differ from this subscription's; using the consumer's (provision it with the settings you want)",
		"max_deliver", fmt.Sprintf("%d (asked %d)", have.MaxDeliver, s.cfg.maxDeliver),
		"ack_wait", fmt.Sprintf("%s (asked %s)", have.AckWait, s.cfg.ackWait))
	if have.MaxDeliver > 0 {
		s.cfg.maxDeliver = have.MaxDeliver
	}
	if have.AckWait > 0 {
		s.cfg.ackWait = have.AckWait
	}
}
