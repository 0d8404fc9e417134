package permissions

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/topic"
)

// Plan is what a catalog needs on the server: the bus requirements (a
// stream per topic that is sent or published, a consumer per group) and
// the inbox buckets.
type Plan struct {
	Requirements []bus.Requirement
	Buckets      []string
	// Replicas is the replica count of the buckets (0: 1); streams and
	// consumers take the bus's (bus.WithReplicas).
	Replicas int
}

// PlanOf derives the plan of c in namespace ns, refusing a catalog with
// lint errors as Derive does. Requirements come in catalog order: services
// by name, each one's uses in role order.
func PlanOf(c *catalog.Catalog, ns string) (*Plan, error) {
	if _, err := Derive(c, ns, ""); err != nil {
		return nil, err
	}
	p := &Plan{}
	for _, s := range c.Services {
		for _, use := range s.Uses {
			t := c.Topic(use.Topic)
			if t == nil {
				continue
			}
			n, err := t.Parsed()
			if err != nil {
				continue
			}
			r := bus.Requirement{Kind: t.Kind, Topic: n}
			if use.Role == catalog.RoleHandles || use.Role == catalog.RoleSubscribes {
				r.Group = s.Name
			}
			p.Requirements = append(p.Requirements, r)
		}
		if s.Inbox {
			p.Buckets = append(p.Buckets, topic.InboxBucket(ns, s.Name))
		}
	}
	return p, nil
}

// Provision creates or updates, through b (an operator's bus in the
// catalog's namespace), everything p needs, and reports each stream,
// consumer and bucket once, in the order first met, as a line such as
// "create stream EVT_user" (with dryRun: what it would do, changing
// nothing). It stops at the first error, after reporting what it did
// until then.
func Provision(ctx context.Context, b *bus.Bus, p *Plan, dryRun bool, report func(line string)) error {
	seen := map[string]bool{}
	for _, r := range p.Requirements {
		changes, err := b.Provision(ctx, r, dryRun)
		for _, ch := range changes {
			// Streams shared by several requirements are reported as the
			// first met them: later ones find them made (or, in a dry
			// run, still to make).
			if key := ch.Stream + "/" + ch.Consumer; !seen[key] {
				seen[key] = true
				report(ch.String())
			}
		}
		if err != nil {
			return err
		}
	}
	for _, bucket := range p.Buckets {
		_, err := b.JetStream().KeyValue(ctx, bucket)
		switch {
		case err == nil:
			// NewKVStore checks an existing bucket without changing it.
			if _, err := idempotency.NewKVStore(ctx, b.JetStream(), bucket, idempotency.WithExistingBucket(), idempotency.WithReplicas(p.Replicas)); err != nil {
				return err
			}
			report("unchanged kv bucket " + bucket)
		case errors.Is(err, jetstream.ErrBucketNotFound):
			if !dryRun {
				if _, err := idempotency.NewKVStore(ctx, b.JetStream(), bucket, idempotency.WithReplicas(p.Replicas)); err != nil {
					return err
				}
			}
			report("create kv bucket " + bucket)
		default:
			return fmt.Errorf("choreo/permissions: looking up kv bucket %s: %w", bucket, err)
		}
	}
	return nil
}
