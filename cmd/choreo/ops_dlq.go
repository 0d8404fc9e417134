package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

const dlqHelp = `
Usage: choreo dlq <ls|show|replay|purge|groups> [flags]

Works with the dead letters of a namespace: messages a handler group gave
up on, with why.

	dlq ls       list dead letters, oldest first
	dlq show     print dead letters in full: headers and payload
	dlq replay   put dead letters back in front of the group that gave up
	dlq purge    delete dead letters without redelivering them
	dlq groups   dead letters grouped by consumer and reason, with counts

A dead letter is named by its sequence in the dead-letter stream (the SEQ
column of 'dlq ls'), by its message id (ce-id), or by the last 6 or more
characters of its id (the ID column).

Run 'choreo dlq <command> -h' for its flags and an example.
`

func (c *cli) dlq(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usageError("choreo dlq", "missing command; use ls, show, replay, purge or groups")
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, strings.TrimLeft(dlqHelp, "\n"))
		return exitOK
	case "ls":
		return c.dlqList(ctx, args[1:])
	case "show":
		return c.dlqShow(ctx, args[1:])
	case "replay":
		return c.dlqAct(ctx, "replay", args[1:])
	case "purge":
		return c.dlqAct(ctx, "purge", args[1:])
	case "groups":
		return c.dlqGroups(ctx, args[1:])
	}
	c.usageError("choreo dlq", fmt.Sprintf("unknown command %q; use ls, show, replay, purge or groups", args[0]))
	return exitUsage
}

// deadLetterJSON is a dead letter in -json output (dlq ls, show, replay,
// purge). Field names are stable; headers and data only come with show.
type deadLetterJSON struct {
	Seq           uint64              `json:"seq"`
	ID            string              `json:"id,omitempty"`
	Source        string              `json:"source,omitempty"`
	Type          string              `json:"type,omitempty"`
	Kind          string              `json:"kind,omitempty"`
	Topic         string              `json:"topic,omitempty"`
	Subject       string              `json:"subject"`
	Consumer      string              `json:"consumer"`
	Group         string              `json:"group"`
	Reason        string              `json:"reason"`
	Deliveries    int                 `json:"deliveries"`
	FailedAt      *time.Time          `json:"failed_at,omitempty"`
	Stream        string              `json:"stream"`
	StreamSeq     uint64              `json:"stream_seq"`
	CorrelationID string              `json:"correlation_id,omitempty"`
	CausationID   string              `json:"causation_id,omitempty"`
	Time          *time.Time          `json:"time,omitempty"`
	Size          int                 `json:"size"`
	Reduced       string              `json:"reduced,omitempty"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Data          any                 `json:"data,omitempty"`
}

func deadLetterRecord(ns string, dl bus.DeadLetter, full bool) deadLetterJSON {
	r := deadLetterJSON{
		Seq: dl.Sequence, Subject: dl.Subject, Consumer: dl.Consumer, Group: groupOf(dl.Consumer),
		Reason: dl.Reason, Deliveries: dl.Deliveries, FailedAt: optionalTime(dl.FailedAt),
		Stream: dl.Stream, StreamSeq: dl.StreamSequence, Size: len(dl.Data), Reduced: dl.Reduced,
	}
	if k, n, err := topic.ParseSubject(ns, dl.Subject); err == nil {
		r.Kind, r.Topic = k.String(), n.String()
	}
	if e := dl.Envelope; e != nil {
		r.ID, r.Source, r.Type = e.ID, e.Source, e.Type
		r.CorrelationID, r.CausationID, r.Time = e.CorrelationID, e.CausationID, optionalTime(e.Time)
	}
	if full {
		r.Headers = dl.Header
		r.Data = jsonData(dl.Data)
	}
	return r
}

// groupOf is the group part of a consumer name ("email" of
// "email__v1_user_signedup").
func groupOf(consumer string) string {
	g, _, _ := strings.Cut(consumer, "__")
	return g
}

// dlqFilterFlags are the flags that select dead letters.
type dlqFilterFlags struct {
	group, consumer, topic, reason string
	since                          time.Duration
}

func (f *dlqFilterFlags) register(o *opsCommand) {
	o.fs.StringVar(&f.group, "group", "", "only the dead letters of this `group` (a subscriber group or a service's command handlers)")
	o.fs.StringVar(&f.consumer, "consumer", "", "only the dead letters of this `consumer` (a group on one topic, e.g. email__v1_user_signedup)")
	o.fs.StringVar(&f.topic, "topic", "", "only the dead letters of this `topic`, e.g. v1.user.signup")
	o.fs.DurationVar(&f.since, "since", 0, "only dead letters parked within this `duration`, e.g. 1h")
	o.fs.StringVar(&f.reason, "reason", "", "only dead letters whose reason, as given or as 'dlq groups' prints it, contains this `text`")
}

func (f *dlqFilterFlags) set() bool {
	return f.group != "" || f.consumer != "" || f.topic != "" || f.reason != ""
}

func (f *dlqFilterFlags) filter() bus.DeadLetterFilter {
	return bus.DeadLetterFilter{Group: f.group, Consumer: f.consumer, Topic: f.topic, Since: sinceFlag(f.since)}
}

// each calls fn for every dead letter the flags select, at most limit
// (0: all). The server filters by group, consumer, topic and time; the
// reason is matched here.
func (f *dlqFilterFlags) each(ctx context.Context, b *bus.Bus, limit int, fn func(bus.DeadLetter) error) error {
	filter := f.filter()
	if f.reason == "" {
		filter.Limit = limit
	}
	n := 0
	errEnough := errors.New("enough")
	err := eachDeadLetter(ctx, b, filter, func(dl bus.DeadLetter) error {
		if f.reason != "" && !strings.Contains(dl.Reason, f.reason) && !strings.Contains(normalizeReason(dl.Reason), f.reason) {
			return nil
		}
		if err := fn(dl); err != nil {
			return err
		}
		if n++; limit > 0 && n >= limit {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

const dlqListHelp = `
Usage: choreo dlq ls [-group G] [-consumer C] [-topic T] [-reason TEXT] [-since D] [-limit N]

Lists dead letters, oldest first: the sequence (SEQ) that names it, when it
was parked, the consumer that gave up, the topic, the message and
correlation ids (last 8 characters), how many deliveries were tried, and
why.

-json prints one object per dead letter: seq, id, source, type, kind,
topic, subject, consumer, group, reason, deliveries, failed_at, stream,
stream_seq, correlation_id, causation_id, time, size, and reduced when the
message was too large to park whole (what was cut, where the original is).

Examples:

	choreo dlq ls
	choreo dlq ls -group accounts -since 1h
	choreo dlq ls -json | jq -r .reason
`

func (c *cli) dlqList(ctx context.Context, args []string) int {
	o := c.newOps("choreo dlq ls")
	var f dlqFilterFlags
	f.register(o)
	limit := o.fs.Int("limit", 0, "stop after `n` dead letters (0: all)")
	if _, code, ok := o.parse(dlqListHelp, args, 0, 0); !ok {
		return code
	}
	if *limit < 0 {
		return o.usage("-limit %d: use 0 for all, or a positive number", *limit)
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	n := 0
	err := f.each(ctx, b, *limit, func(dl bus.DeadLetter) error {
		if o.conn.json {
			return o.emit(deadLetterRecord(b.Namespace(), dl, false))
		}
		if n == 0 {
			fmt.Fprintln(tw, "SEQ\tFAILED\tCONSUMER\tID\tCORR\tTRIES\tREASON")
		}
		corr := ""
		if dl.Envelope != nil {
			corr = dl.Envelope.CorrelationID
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", dl.Sequence, clock(dl.FailedAt), dl.Consumer,
			shortID(envelopeID(dl)), shortID(corr), dl.Deliveries, preview([]byte(dl.Reason), 120))
		n++
		if n%256 == 0 {
			return tw.Flush()
		}
		return nil
	})
	tw.Flush()
	if err != nil {
		return o.fail(err)
	}
	if n == 0 && !o.conn.json {
		o.printf("no dead letters%s\n", inNamespace(b.Namespace()))
	}
	return exitOK
}

// envelopeID is the ce-id of a dead letter, "" when it is no CloudEvent.
func envelopeID(dl bus.DeadLetter) string {
	if dl.Envelope == nil {
		return ""
	}
	return dl.Envelope.ID
}

func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}

// eachDeadLetter calls each for every dead letter that f selects. Reading
// only looks the dead-letter stream up (Bus.DeadLetters never creates it or
// changes its settings), so an operator's read changes nothing.
func eachDeadLetter(ctx context.Context, b *bus.Bus, f bus.DeadLetterFilter, each func(bus.DeadLetter) error) error {
	for dl, err := range b.DeadLetters(ctx, f) {
		if err != nil {
			return err
		}
		if err := each(dl); err != nil {
			return err
		}
	}
	return nil
}
