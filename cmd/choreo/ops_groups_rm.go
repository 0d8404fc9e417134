package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

const groupsRemoveHelp = `
Usage: choreo groups rm [-force] [-dry-run] GROUP|CONSUMER...

Removes consumer groups: every durable consumer of GROUP (on every topic),
or the one CONSUMER named (group__topic, e.g. accounts__v1_user_signup).
The usual reason is an orphan: a service renamed from accounts to
accounts-v2 leaves accounts__v1_user_signup behind, and HandleCommand in
the renamed service then fails with "another service already handles this
command" until the orphan is removed.

Without -force it refuses a group that still has a backlog (messages not
yet delivered or not yet acknowledged) or an instance pulling from it (a
running service recreates its consumer at once). With -force, a removed
command consumer loses nothing: its commands stay in the work queue for
the next handler group; a removed event group loses its place and its
backlog. The group's advisory converter (its consumer of the same name on
the stream's _MAXDELIVERIES capture stream) is removed with it. The
group's dead letters stay; 'choreo dlq purge -group G' removes them.

-json prints one object per consumer: action (removed or would_remove),
group, consumer, stream, topic, pending, ack_pending, instances.

Examples:

	choreo groups rm accounts
	choreo groups rm -dry-run old-email
`

// groupRemovalJSON is one line of 'groups rm -json'.
type groupRemovalJSON struct {
	Action     string `json:"action"`
	Group      string `json:"group"`
	Consumer   string `json:"consumer"`
	Stream     string `json:"stream"`
	Topic      string `json:"topic,omitempty"`
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	Instances  int    `json:"instances"`
}

func (c *cli) groupsRemove(ctx context.Context, args []string) int {
	o := c.newOps("choreo groups rm")
	force := o.fs.Bool("force", false, "remove even with a backlog or an instance pulling")
	dryRun := o.fs.Bool("dry-run", false, "print what would be removed and change nothing")
	pos, code, ok := o.parse(groupsRemoveHelp, args, 1, -1)
	if !ok {
		return code
	}
	for _, name := range pos {
		group, _, _ := strings.Cut(name, "__")
		if err := topic.ValidateGroup(group); err != nil || strings.ContainsAny(name, ".*> ") {
			return o.usage("%q is neither a group name nor a consumer name (group__topic, e.g. accounts__v1_user_signup)", preview([]byte(name), 64))
		}
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	rctx, cancel := o.request(ctx)
	defer cancel()
	streams, err := inventory(rctx, b)
	if err != nil {
		return o.fail(err)
	}
	// Check every name before removing anything: all or nothing.
	var doomed []groupConsumer
	var problems []string
	for _, name := range pos {
		var found []groupConsumer
		for _, s := range streams {
			for _, gc := range s.Consumers {
				if gc.Group == name || gc.Name == name {
					found = append(found, gc)
				}
			}
		}
		if len(found) == 0 {
			return o.fail(fmt.Errorf("no consumer group or consumer %q%s; 'choreo groups ls' lists them", name, inNamespace(b.Namespace())))
		}
		for _, gc := range found {
			if p := removalProblem(gc); p != "" && !*force {
				problems = append(problems, p)
			}
		}
		doomed = append(doomed, found...)
	}
	if len(problems) > 0 {
		return o.fail(fmt.Errorf("nothing removed: %s; check with 'choreo groups ls', or add -force", strings.Join(problems, "; ")))
	}
	for _, gc := range doomed {
		rec := groupRemovalJSON{Action: "would_remove", Group: gc.Group, Consumer: gc.Name, Stream: gc.Stream, Topic: gc.Topic,
			Pending: gc.Info.NumPending, AckPending: gc.Info.NumAckPending, Instances: gc.Info.NumWaiting}
		if !*dryRun {
			err := b.JetStream().DeleteConsumer(rctx, gc.Stream, gc.Name)
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return o.fail(fmt.Errorf("removing consumer %s from %s: %w", gc.Name, gc.Stream, err))
			}
			// The group's advisory converter goes with it: nothing would
			// read it again.
			err = b.JetStream().DeleteConsumer(rctx, topic.AdvisoryStream(gc.Stream), topic.AdvisoryConsumer(gc.Name))
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return o.fail(fmt.Errorf("removing consumer %s from %s: %w", topic.AdvisoryConsumer(gc.Name), topic.AdvisoryStream(gc.Stream), err))
			}
			rec.Action = "removed"
		}
		if o.conn.json {
			if err := o.emit(rec); err != nil {
				return o.fail(err)
			}
			continue
		}
		o.printf("%s consumer %s of group %s from %s (%s)\n", strings.ReplaceAll(rec.Action, "_", " "), gc.Name, gc.Group, gc.Stream, orDash(gc.Topic))
	}
	return exitOK
}

// removalProblem says why a consumer should not be removed without -force,
// or "" when nothing speaks against it.
func removalProblem(gc groupConsumer) string {
	var why []string
	if n := gc.Info.NumPending; n > 0 {
		why = append(why, fmt.Sprintf("%d messages not yet delivered", n))
	}
	if n := gc.Info.NumAckPending; n > 0 {
		why = append(why, fmt.Sprintf("%d being handled", n))
	}
	if n := gc.Info.NumWaiting; n > 0 {
		why = append(why, fmt.Sprintf("%d instances pulling (a running service would recreate it; stop it first)", n))
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("%s on %s has %s", gc.Name, gc.Stream, strings.Join(why, ", "))
}
