package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

const dlqGroupsHelp = `
Usage: choreo dlq groups [-group G] [-consumer C] [-topic T] [-reason TEXT] [-since D]

Groups dead letters by the consumer that gave up and by reason, with how
many, the oldest and the newest: the first thing to look at when a dead-
letter queue fills up. Reasons are normalised so that one failure with
different data is one group: quoted text ("..." and '...'), UUIDs, email
addresses and numbers of 4 or more digits become placeholders, so
invalid email address "a" and invalid email address "b" are both
invalid email address "…". -reason with text from a printed reason
selects one group for 'dlq ls', 'dlq replay' and 'dlq purge'.

-json prints one object per group: consumer, group, topic, reason (the
normalised reason), example (one reason as it was), count, oldest,
newest (RFC 3339), and seqs (the sequences of up to 10 of its dead
letters, for dlq show).

Examples:

	choreo dlq groups
	choreo dlq groups -since 24h -json
`

// dlqGroupJSON is one line of 'dlq groups -json'.
type dlqGroupJSON struct {
	Consumer string    `json:"consumer"`
	Group    string    `json:"group"`
	Topic    string    `json:"topic,omitempty"`
	Reason   string    `json:"reason"`
	Example  string    `json:"example"`
	Count    int       `json:"count"`
	Oldest   time.Time `json:"oldest"`
	Newest   time.Time `json:"newest"`
	Seqs     []uint64  `json:"seqs"`
}

// maxGroupSeqs bounds the sequences kept per group.
const maxGroupSeqs = 10

func (c *cli) dlqGroups(ctx context.Context, args []string) int {
	o := c.newOps("choreo dlq groups")
	var f dlqFilterFlags
	f.register(o)
	if _, code, ok := o.parse(dlqGroupsHelp, args, 0, 0); !ok {
		return code
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	type key struct{ consumer, reason string }
	groups := map[key]*dlqGroupJSON{}
	err := f.each(ctx, b, 0, func(dl bus.DeadLetter) error {
		k := key{dl.Consumer, normalizeReason(dl.Reason)}
		g := groups[k]
		if g == nil {
			g = &dlqGroupJSON{Consumer: dl.Consumer, Group: groupOf(dl.Consumer), Reason: k.reason, Example: dl.Reason,
				Oldest: dl.FailedAt.UTC(), Newest: dl.FailedAt.UTC()}
			if _, n, err := topic.ParseSubject(b.Namespace(), dl.Subject); err == nil {
				g.Topic = n.String()
			}
			groups[k] = g
		}
		g.Count++
		if dl.FailedAt.Before(g.Oldest) {
			g.Oldest = dl.FailedAt.UTC()
		}
		if dl.FailedAt.After(g.Newest) {
			g.Newest = dl.FailedAt.UTC()
		}
		if len(g.Seqs) < maxGroupSeqs {
			g.Seqs = append(g.Seqs, dl.Sequence)
		}
		return nil
	})
	if err != nil {
		return o.fail(err)
	}
	list := make([]*dlqGroupJSON, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	// Biggest first; ties by consumer and reason, so output is stable.
	slices.SortFunc(list, func(a, b *dlqGroupJSON) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if c := strings.Compare(a.Consumer, b.Consumer); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	if o.conn.json {
		for _, g := range list {
			if err := o.emit(g); err != nil {
				return o.fail(err)
			}
		}
		return exitOK
	}
	if len(list) == 0 {
		o.printf("no dead letters%s\n", inNamespace(b.Namespace()))
		return exitOK
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tCONSUMER\tOLDEST\tNEWEST\tREASON")
	for _, g := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", g.Count, g.Consumer, ago(g.Oldest), ago(g.Newest), preview([]byte(g.Reason), 120))
	}
	tw.Flush()
	return exitOK
}

// Patterns normalizeReason replaces, in this order: quoted text first, so
// that what is inside a quote is not matched again.
var (
	reasonQuoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	reasonUUID   = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	reasonEmail  = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	reasonNumber = regexp.MustCompile(`\b\d{4,}\b`)
)

// normalizeReason turns a dead letter's reason into the reason of its
// kind: the varying parts (quoted values, ids, addresses, long numbers)
// become placeholders, so failures that differ only in data group
// together. Short numbers stay: they are usually codes (451, 503).
func normalizeReason(s string) string {
	s = reasonQuoted.ReplaceAllStringFunc(s, func(q string) string { return q[:1] + "…" + q[:1] })
	s = reasonUUID.ReplaceAllString(s, "<uuid>")
	s = reasonEmail.ReplaceAllString(s, "<email>")
	return reasonNumber.ReplaceAllString(s, "<n>")
}
