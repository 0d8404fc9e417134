package main

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

const tailHelp = `
Usage: choreo tail [TOPIC|PATTERN...] [-kind command|event] [-correlation ID] [-source S] [-since D | -all] [-count N] [-for D]

Prints messages as they pass, one line each: time, kind, topic, message id
and correlation id (their last 8 characters), source, size and the start
of the payload. TOPIC is a topic name (v1.user.signup); a PATTERN puts the
NATS wildcards * (one segment) and > (the rest) in place of segments
(v1.user.*, *.user.>); the default is every topic. A replayed dead letter
is marked with the group it is replayed to.

Live messages are read with a plain subscription on the topic subjects:
tail adds no consumer and disturbs none. A publish the stream dropped as a
duplicate shows too, since it did pass.

With -since or -all, tail first prints the stored messages, oldest first
across streams, then goes on live. Events come from their streams (as long
as they are kept, 7 days by default). Commands live in work queues, which
keep only the commands not handled yet: JetStream allows no second reader
on a work queue (a consumer there must acknowledge, which removes the
command, and may not overlap the handler's filter), so tail reads them one
by one with direct gets. Handled commands are gone; the events they caused
remain.

tail runs until Ctrl+C, -count messages or -for elapsed (-for counts from
the end of the history: it is how long to follow live messages).

-json prints one object per message: from (history or live), time,
kind, topic, subject, id, source, type, correlation_id, causation_id,
redeliver_to, stream and stream_seq (history), size, data (JSON as is,
anything else as a string), problem (when it is no CloudEvent).

Examples:

	choreo tail
	choreo tail v1.user.signup -since 1h
	choreo tail -correlation 0190c2d2-... -all -json
`

func (c *cli) tail(ctx context.Context, args []string) int {
	o := c.newOps("choreo tail")
	var f tailFilter
	kind := o.fs.String("kind", "", "only `command`s or events")
	o.fs.StringVar(&f.correlation, "correlation", "", "only messages of this correlation `id`")
	o.fs.StringVar(&f.source, "source", "", "only messages from this `source` (service)")
	since := o.fs.Duration("since", 0, "first print the stored messages of this `duration`, e.g. 1h")
	all := o.fs.Bool("all", false, "first print every stored message")
	count := o.fs.Int("count", 0, "stop after `n` messages (0: no limit)")
	forDur := o.fs.Duration("for", 0, "after the history, follow live messages for this `duration` (0: until Ctrl+C)")
	pos, code, ok := o.parse(tailHelp, args, 0, -1)
	if !ok {
		return code
	}
	kinds := []topic.Kind{topic.KindCommand, topic.KindEvent}
	switch *kind {
	case "":
	case "command", "cmd":
		kinds = kinds[:1]
	case "event", "evt":
		kinds = kinds[1:]
	default:
		return o.usage("-kind %q: use command or event", *kind)
	}
	switch {
	case *since < 0:
		return o.usage("-since %s: use a positive duration such as 1h", *since)
	case *since > 0 && *all:
		return o.usage("give -since or -all, not both")
	case *count < 0:
		return o.usage("-count %d: use 0 for no limit, or a positive number", *count)
	case *forDur < 0:
		return o.usage("-for %s: use a positive duration", *forDur)
	}
	subjects, err := tailPatterns(o.conn.namespace, pos, kinds)
	if err != nil {
		return o.usage("%v", err)
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	t := &tailer{o: o, b: b, filter: f, limit: *count, follow: *forDur, seen: map[string]bool{}}
	if err := t.run(ctx, subjects, *all, sinceFlag(*since)); err != nil && ctx.Err() == nil {
		return o.fail(err)
	}
	return exitOK
}

// tailer prints the messages of one tail run.
type tailer struct {
	o       *opsCommand
	b       *bus.Bus
	filter  tailFilter
	limit   int
	follow  time.Duration // how long to follow live messages after the history (0: until ctx ends)
	printed int
	started bool
	seen    map[string]bool // publishes printed from history around the live start
}

// errLimit ends a run that printed -count messages.
var errLimit = fmt.Errorf("limit reached")

func (t *tailer) run(ctx context.Context, subjects []string, all bool, since time.Time) error {
	live := newLiveQueue()
	for _, s := range subjects {
		sub, err := t.b.Conn().Subscribe(s, live.add)
		if err != nil {
			return fmt.Errorf("subscribing to %s: %w", s, err)
		}
		defer sub.Unsubscribe()
	}
	if err := t.b.Conn().FlushTimeout(t.o.conn.timeout); err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	liveFrom := time.Now().Add(-time.Second) // history after this may also arrive live
	if all || !since.IsZero() {
		err := t.history(ctx, subjects, since, liveFrom)
		if err == errLimit {
			return nil
		}
		if err != nil {
			return err
		}
	}
	t.seen = nil // history is over: keep no more ids
	// -for times the live part only: on a slow machine or link, connecting
	// and reading the history must not use up the time given to follow.
	if t.follow > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.follow)
		defer cancel()
	}
	for {
		for _, m := range live.take() {
			if err := t.print(newTailMessage(m, true)); err == errLimit {
				return nil
			} else if err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-live.ready:
		}
	}
}

// history prints the stored messages, oldest first across streams.
func (t *tailer) history(ctx context.Context, subjects []string, since, liveFrom time.Time) error {
	rctx, cancel := t.o.request(ctx)
	streams, err := inventory(rctx, t.b)
	cancel()
	if err != nil {
		return err
	}
	readers := make([]iter.Seq2[storedMsg, error], 0, len(streams))
	for _, s := range streams {
		readers = append(readers, readTopicStream(ctx, t.b.JetStream(), s, subjects, since, false))
	}
	for m, err := range mergeByTime(readers) {
		if err != nil {
			return err
		}
		tm := newTailMessage(m, false)
		if m.Time.After(liveFrom) {
			t.seen[tm.msgID()] = true
		}
		if err := t.print(tm); err != nil {
			return err
		}
	}
	return nil
}

// print prints one message that passes the filters.
func (t *tailer) print(m tailMessage) error {
	if !t.filter.keep(m) || m.live && t.seen[m.msgID()] {
		return nil
	}
	r := m.record(t.b.Namespace())
	if t.o.conn.json {
		if err := t.o.emit(r); err != nil {
			return err
		}
	} else {
		if !t.started {
			t.o.printf("%s\n", tailHeader)
			t.started = true
		}
		t.o.printf("%s\n", tailLine(r))
	}
	t.printed++
	if t.limit > 0 && t.printed >= t.limit {
		return errLimit
	}
	return nil
}

// liveQueue buffers live messages while history prints, without ever
// blocking the connection's reader.
type liveQueue struct {
	mu    sync.Mutex
	msgs  []storedMsg
	ready chan struct{}
}

func newLiveQueue() *liveQueue { return &liveQueue{ready: make(chan struct{}, 1)} }

func (q *liveQueue) add(m *nats.Msg) {
	q.mu.Lock()
	q.msgs = append(q.msgs, storedMsg{Subject: m.Subject, Time: time.Now(), Header: headerOf(m), Data: m.Data})
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *liveQueue) take() []storedMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out
}
