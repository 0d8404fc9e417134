package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

const dlqReplayHelp = `
Usage: choreo dlq replay (ID... | -group G | -consumer C | -topic T | -reason TEXT | -all) [-since D] [-dry-run] [-data JSON|@FILE]

Puts dead letters back in front of the handler group that gave up on them,
and no other group, exactly as bus.Redeliver does: the message keeps its id
(ce-id) and gets a fresh Nats-Msg-Id, and the dead letter is removed once
the copy is stored. Replaying a whole group or filter is one command; fix
the cause first (deploy the fix, correct the data), or the messages come
straight back.

-data replaces the payload of a single dead letter before it is replayed,
for a message whose data was wrong (JSON is checked when the message says
it is JSON). -dry-run prints what would be replayed and changes nothing.

-json prints one object per dead letter: action (replayed, would_replay or
failed), seq, id, topic, consumer, and error when it failed.

Examples:

	choreo dlq replay 7
	choreo dlq replay -group email -since 1h -dry-run
	choreo dlq replay 7 -data '{"email":"margaret@example.com","name":"Margaret"}'
`

const dlqPurgeHelp = `
Usage: choreo dlq purge (ID... | -group G | -consumer C | -topic T | -reason TEXT | -all) [-since D] [-dry-run]

Deletes dead letters without redelivering them: for messages that should
never be handled (a test signup, a duplicate). -dry-run prints what would
be deleted and changes nothing.

-json prints one object per dead letter: action (purged, would_purge or
failed), seq, id, topic, consumer, and error when it failed.

Examples:

	choreo dlq purge 7 12
	choreo dlq purge -consumer accounts__v1_user_signup -dry-run
	choreo dlq purge -reason "already has an account"
`

// dlqActionJSON is the -json line of one dead letter replayed or purged.
type dlqActionJSON struct {
	Action   string `json:"action"`
	Seq      uint64 `json:"seq"`
	ID       string `json:"id,omitempty"`
	Topic    string `json:"topic,omitempty"`
	Consumer string `json:"consumer"`
	Error    string `json:"error,omitempty"`
}

func (c *cli) dlqAct(ctx context.Context, verb string, args []string) int {
	name, help := "choreo dlq "+verb, dlqReplayHelp
	if verb == "purge" {
		help = dlqPurgeHelp
	}
	o := c.newOps(name)
	var f dlqFilterFlags
	f.register(o)
	all := o.fs.Bool("all", false, "every dead letter of the namespace")
	dryRun := o.fs.Bool("dry-run", false, "print what would happen and change nothing")
	var data *string
	if verb == "replay" {
		data = o.fs.String("data", "", "new payload for a single dead letter: `JSON`, or @FILE to read it from a file")
	}
	pos, code, ok := o.parse(help, args, 0, -1)
	if !ok {
		return code
	}
	refs, err := parseDeadLetterRefs(pos)
	switch {
	case err != nil:
		return o.usage("%v", err)
	case len(refs) > 0 && (f.set() || *all || f.since > 0):
		return o.usage("give dead letters by ID or select them with -group, -consumer, -topic, -reason, -since or -all, not both")
	case *all && f.set():
		return o.usage("-all selects every dead letter; drop it to filter with -group, -consumer, -topic or -reason")
	case len(refs) == 0 && !f.set() && !*all:
		return o.usage("say which dead letters: IDs, -group, -consumer, -topic, -reason, or -all")
	case data != nil && *data != "" && len(refs) != 1:
		return o.usage("-data replaces the payload of one dead letter; give exactly one ID")
	}
	var payload []byte
	if data != nil && *data != "" {
		if payload, err = readPayloadFlag(*data); err != nil {
			return o.usage("-data: %v", err)
		}
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	act := &dlqActor{o: o, b: b, verb: verb, dryRun: *dryRun, payload: payload}
	if len(refs) > 0 {
		dls, err := resolveDeadLetters(ctx, b, refs)
		if err != nil {
			return o.fail(err)
		}
		if payload != nil && len(dls) != 1 {
			return o.fail(fmt.Errorf("-data: %s names %d dead letters; give the sequence of the one to change", refs[0].arg, len(dls)))
		}
		for _, dl := range dls {
			if err := act.do(ctx, dl); err != nil {
				return o.fail(err)
			}
		}
	} else if err := act.each(ctx, &f); err != nil {
		return o.fail(err)
	}
	return act.summary()
}

// readPayloadFlag reads -data: the payload itself, or @FILE.
func readPayloadFlag(v string) ([]byte, error) {
	if file, ok := strings.CutPrefix(v, "@"); ok {
		return os.ReadFile(file)
	}
	return []byte(v), nil
}

// dlqActor replays or purges dead letters one by one and counts.
type dlqActor struct {
	o            *opsCommand
	b            *bus.Bus
	verb         string
	dryRun       bool
	payload      []byte
	done, failed int
}

// each acts on every dead letter the filter selects that was parked before
// the command started: a replayed message that fails again is parked anew
// and must not be replayed again in the same run.
func (a *dlqActor) each(ctx context.Context, f *dlqFilterFlags) error {
	rctx, cancel := a.o.request(ctx)
	stream, err := a.b.JetStream().Stream(rctx, topic.DeadLetterStream(a.b.Namespace()))
	cancel()
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // no dead-letter stream: no dead letters
	}
	if err != nil {
		return fmt.Errorf("reading the dead-letter stream: %w", err)
	}
	last := stream.CachedInfo().State.LastSeq
	errStop := errors.New("stop")
	err = f.each(ctx, a.b, 0, func(dl bus.DeadLetter) error {
		if dl.Sequence > last {
			return errStop
		}
		return a.do(ctx, dl)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// do replays or purges one dead letter and reports it. A failure of this
// one dead letter is reported and counted; only a lost connection or an
// interrupt (ctx) stops the run.
func (a *dlqActor) do(ctx context.Context, dl bus.DeadLetter) error {
	rec := dlqActionJSON{Seq: dl.Sequence, ID: envelopeID(dl), Consumer: dl.Consumer}
	if _, n, err := topic.ParseSubject(a.b.Namespace(), dl.Subject); err == nil {
		rec.Topic = n.String()
	}
	var err error
	if a.payload != nil {
		err = replacePayload(&dl, a.payload)
	}
	past, would := "replayed", "would_replay"
	if a.verb == "purge" {
		past, would = "purged", "would_purge"
	}
	switch {
	case err != nil:
	case a.dryRun:
		rec.Action = would
	default:
		rctx, cancel := a.o.request(ctx)
		if a.verb == "replay" {
			err = a.b.Redeliver(rctx, dl)
		} else {
			err = a.b.DeleteDeadLetter(rctx, dl)
		}
		cancel()
		rec.Action = past
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rec.Action, rec.Error = "failed", err.Error()
		a.failed++
	} else {
		a.done++
	}
	if a.o.conn.json {
		return a.o.emit(rec)
	}
	if err != nil {
		fmt.Fprintf(a.o.stderr, "%s: dead letter %d: %v\n", a.o.name, dl.Sequence, err)
		return nil
	}
	verb := strings.ReplaceAll(rec.Action, "_", " ")
	a.o.printf("%s %d  %s  %s  %s\n", verb, dl.Sequence, orDash(rec.Topic), shortID(rec.ID), dl.Consumer)
	return nil
}

// summary prints the totals (text output) and returns the exit code: 1 when
// a dead letter could not be handled.
func (a *dlqActor) summary() int {
	if !a.o.conn.json {
		what := map[string]string{"replay": "replayed", "purge": "purged"}[a.verb]
		if a.dryRun {
			what = "would be " + what + " (dry run: nothing changed)"
		}
		a.o.printf("%s %s", plural(a.done, "dead letter"), what)
		if a.failed > 0 {
			a.o.printf(", %d failed", a.failed)
		}
		a.o.printf("\n")
	}
	if a.failed > 0 {
		return exitFail
	}
	return exitOK
}

// replacePayload puts an operator's corrected payload into a dead letter
// about to be replayed. Only binary-mode CloudEvents can be changed: in a
// structured one the payload is the whole event.
func replacePayload(dl *bus.DeadLetter, data []byte) error {
	if dl.Envelope == nil {
		return errors.New("-data: the dead letter is not a CloudEvent; replay it as it is or purge it")
	}
	if ct := strings.ToLower(dl.Header.Get("Content-Type")); strings.HasPrefix(ct, "application/cloudevents") {
		return errors.New("-data: the message is a structured-mode CloudEvent (its payload is the whole event); replay it as it is or purge it")
	}
	ct := dl.Envelope.DataContentType
	if (ct == "" || strings.Contains(ct, "json")) && !json.Valid(data) {
		return fmt.Errorf("-data: the message carries %s but the new payload is not valid JSON", orDefault(ct, "JSON"))
	}
	dl.Data = data
	return nil
}

func orDash(s string) string { return orDefault(s, "-") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
