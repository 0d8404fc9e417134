package main

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

const traceHelp = `
Usage: choreo trace [-since D] CORRELATION_ID

Prints the causal tree of one chain of messages across every service:
which message caused which (ce-causationid), who sent each, which groups
read it and how that went (handled, delivered, waiting, dead letter with
its reason and deliveries), a replayed dead letter, and the time from
each step to the next. No tracing backend is needed: the tree is read
from the retained event streams, the work queues (commands not handled
yet) and the dead-letter stream, without disturbing any consumer.

What the bus cannot tell is said so: a command that was handled is
removed from its work queue, so it shows as a gap named after the events
it caused; a retry that ended in success leaves no record; events older
than their stream's max age are gone. -since limits the scan to recent
messages, for namespaces with long event histories.

-json prints one object per message, parents before children: id, kind,
topic, source, time, correlation_id, causation_id, parent_id, depth,
where (event_stream, work_queue, dead_letter or gone), stream,
stream_seq, since_parent_ms, replayed_to, probable_topics (for a gone
command), note, and consumers: one object per group reading it with
consumer, group, state (handled, delivered, waiting or dead_letter),
dead_letter_seq, deliveries and reason.

Example:

	choreo trace 01a2011c-e715-79b9-a182-cf5129dca61f
`

func (c *cli) trace(ctx context.Context, args []string) int {
	o := c.newOps("choreo trace")
	since := o.fs.Duration("since", 0, "only messages of this `duration` (default: everything retained)")
	pos, code, ok := o.parse(traceHelp, args, 1, 1)
	if !ok {
		return code
	}
	corr := pos[0]
	if err := checkCorrelationID(corr); err != nil {
		return o.usage("%v", err)
	}
	if *since < 0 {
		return o.usage("-since %s: use a positive duration such as 1h", *since)
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	t, err := gatherTrace(ctx, o, b, corr, sinceFlag(*since))
	if err != nil {
		return o.fail(err)
	}
	if len(t.nodes) == 0 {
		return o.failf(o.name, "no message with correlation id %q%s: it may be older than the streams keep, or mistyped (the full id is needed)", corr, inNamespace(b.Namespace()))
	}
	if err := t.print(o); err != nil {
		return o.fail(err)
	}
	return exitOK
}

// checkCorrelationID rejects what no message could carry.
func checkCorrelationID(id string) error {
	if id == "" || len(id) > 512 || strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("%q is not a correlation id", preview([]byte(id), 40))
	}
	return nil
}

// gatherTrace reads every message of the chain from the namespace.
func gatherTrace(ctx context.Context, o *opsCommand, b *bus.Bus, corr string, since time.Time) (*traceTree, error) {
	rctx, cancel := o.request(ctx)
	streams, err := inventory(rctx, b)
	cancel()
	if err != nil {
		return nil, err
	}
	t := newTraceTree(b.Namespace(), corr, streams)
	var readers []iter.Seq2[storedMsg, error]
	for _, s := range streams {
		readers = append(readers, readTopicStream(ctx, b.JetStream(), s, s.Info.Config.Subjects, since, true))
	}
	for _, r := range readers {
		for m, err := range r {
			if err != nil {
				return nil, err
			}
			env, err := envelope.Read(m.Header, m.Data)
			if err != nil || env.CorrelationID != corr && env.ID != corr {
				continue
			}
			t.addStored(m, env)
		}
	}
	err = eachDeadLetter(ctx, b, bus.DeadLetterFilter{Since: since}, func(dl bus.DeadLetter) error {
		if dl.Envelope != nil && (dl.Envelope.CorrelationID == corr || dl.Envelope.ID == corr) {
			t.addDeadLetter(dl)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.build()
	return t, nil
}

// kindOfSubject is the kind of a topic subject ("" when it is none).
func kindOfSubject(ns, subject string) (topic.Kind, string, bool) {
	k, n, err := topic.ParseSubject(ns, subject)
	if err != nil {
		return 0, "", false
	}
	return k, n.String(), true
}
