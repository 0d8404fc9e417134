package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

const groupsHelp = `
Usage: choreo groups <ls|rm> [flags]

	groups ls    list the consumer groups of a namespace with their backlog and last activity
	groups rm    remove a group's consumers: an orphan a renamed or retired service left behind

Run 'choreo groups <command> -h' for its flags and an example.
`

func (c *cli) groups(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usageError("choreo groups", "missing command; use ls or rm")
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, strings.TrimLeft(groupsHelp, "\n"))
		return exitOK
	case "ls":
		return c.groupsList(ctx, args[1:])
	case "rm":
		return c.groupsRemove(ctx, args[1:])
	}
	c.usageError("choreo groups", fmt.Sprintf("unknown command %q; use ls or rm", args[0]))
	return exitUsage
}

const groupsListHelp = `
Usage: choreo groups ls

Lists the consumer groups of a namespace: a subscriber group (Subscribe)
or a service's command handlers (HandleCommand, named after the service),
with one durable consumer per topic. For each: the topics it reads, its
backlog (messages not yet delivered, and delivered but not acknowledged),
its dead letters, how many instances are pulling right now, and when it
last delivered or acknowledged a message. A group with no instance
pulling and no recent activity is likely an orphan: see 'choreo groups rm'.

Instances are counted from the pull requests the server holds: a running
choreo subscription keeps one open while it waits for messages, so the
count is exact for an idle group and may read low for a busy one.

-json prints one object per group: group, topics, pending, ack_pending,
dead_letters, instances, last_active (omitted when never), and consumers:
one object each with consumer, stream, kind, topic, pending, ack_pending,
redelivered, dead_letters, instances, created and last_active.

Example:

	choreo groups ls
`

// groupJSON is one line of 'groups ls -json'.
type groupJSON struct {
	Group       string              `json:"group"`
	Topics      []string            `json:"topics"`
	Pending     uint64              `json:"pending"`
	AckPending  int                 `json:"ack_pending"`
	DeadLetters int                 `json:"dead_letters"`
	Instances   int                 `json:"instances"`
	LastActive  *time.Time          `json:"last_active,omitempty"`
	Consumers   []groupConsumerJSON `json:"consumers"`
}

// groupConsumerJSON is one consumer of a group in 'groups ls -json'.
type groupConsumerJSON struct {
	Consumer    string     `json:"consumer"`
	Stream      string     `json:"stream"`
	Kind        string     `json:"kind"`
	Topic       string     `json:"topic,omitempty"`
	Pending     uint64     `json:"pending"`
	AckPending  int        `json:"ack_pending"`
	Redelivered int        `json:"redelivered"`
	DeadLetters int        `json:"dead_letters"`
	Instances   int        `json:"instances"`
	Created     time.Time  `json:"created"`
	LastActive  *time.Time `json:"last_active,omitempty"`
}

func (c *cli) groupsList(ctx context.Context, args []string) int {
	o := c.newOps("choreo groups ls")
	if _, code, ok := o.parse(groupsListHelp, args, 0, 0); !ok {
		return code
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
	dead, err := deadLetterCounts(rctx, b)
	if err != nil {
		return o.fail(err)
	}
	byName := map[string]*groupJSON{}
	var list []*groupJSON
	for _, s := range streams {
		for _, gc := range s.Consumers {
			g := byName[gc.Group]
			if g == nil {
				g = &groupJSON{Group: gc.Group}
				byName[gc.Group] = g
				list = append(list, g)
			}
			cj := groupConsumerJSON{
				Consumer: gc.Name, Stream: gc.Stream, Kind: gc.Kind.String(), Topic: gc.Topic,
				Pending: gc.Info.NumPending, AckPending: gc.Info.NumAckPending, Redelivered: gc.Info.NumRedelivered,
				DeadLetters: dead[gc.Stream+"/"+gc.Name], Instances: gc.Info.NumWaiting,
				Created: gc.Info.Created.UTC(), LastActive: optionalTime(gc.lastActive()),
			}
			g.Consumers = append(g.Consumers, cj)
			g.Topics = append(g.Topics, orDefault(gc.Topic, gc.Info.Config.FilterSubject))
			g.Pending += cj.Pending
			g.AckPending += cj.AckPending
			g.DeadLetters += cj.DeadLetters
			g.Instances = max(g.Instances, cj.Instances)
			if cj.LastActive != nil && (g.LastActive == nil || cj.LastActive.After(*g.LastActive)) {
				g.LastActive = cj.LastActive
			}
		}
	}
	slices.SortFunc(list, func(a, b *groupJSON) int { return strings.Compare(a.Group, b.Group) })
	if o.conn.json {
		for _, g := range list {
			slices.Sort(g.Topics)
			if err := o.emit(g); err != nil {
				return o.fail(err)
			}
		}
		return exitOK
	}
	if len(list) == 0 {
		o.printf("no consumer groups%s\n", inNamespace(b.Namespace()))
		return exitOK
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tPENDING\tACK-PENDING\tDEAD\tINSTANCES\tLAST ACTIVE\tTOPICS")
	for _, g := range list {
		slices.Sort(g.Topics)
		last := "never"
		if g.LastActive != nil {
			last = ago(*g.LastActive)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\n", g.Group, g.Pending, g.AckPending, g.DeadLetters, g.Instances, last, strings.Join(g.Topics, ", "))
	}
	tw.Flush()
	return exitOK
}
