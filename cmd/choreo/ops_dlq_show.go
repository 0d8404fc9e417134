package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/choreo-bus/choreo/bus"
)

// minIDSuffix is the shortest end of a message id that names a dead letter:
// the 8 characters the listings print, or a little less when typed.
const minIDSuffix = 6

// deadLetterRef is a dead letter named on the command line: a sequence in
// the dead-letter stream, a message id, or the end of one.
type deadLetterRef struct {
	arg string
	seq uint64 // > 0 when arg is a number
}

// parseDeadLetterRefs checks the names given on the command line.
func parseDeadLetterRefs(args []string) ([]deadLetterRef, error) {
	refs := make([]deadLetterRef, 0, len(args))
	for _, a := range args {
		if a == "" || len(a) > 256 || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("%q is not a dead letter's sequence or message id", preview([]byte(a), 40))
		}
		r := deadLetterRef{arg: a}
		if n, err := strconv.ParseUint(a, 10, 64); err == nil {
			if n == 0 {
				return nil, fmt.Errorf("dead letter 0: sequences start at 1")
			}
			r.seq = n
		} else if len(a) < minIDSuffix {
			return nil, fmt.Errorf("dead letter %q: give its sequence, its message id or at least the last %d characters of the id", a, minIDSuffix)
		}
		refs = append(refs, r)
	}
	return refs, nil
}

func (r deadLetterRef) matches(dl bus.DeadLetter) bool {
	if r.seq != 0 && dl.Sequence == r.seq {
		return true
	}
	id := envelopeID(dl)
	return id != "" && (id == r.arg || len(r.arg) >= minIDSuffix && strings.HasSuffix(id, r.arg))
}

// resolveDeadLetters finds the dead letters refs name, in one pass over the
// dead-letter stream, ordered by sequence. A message id names every dead
// letter of that message (one per group that gave up on it). A name that
// matches nothing, or an id ending that matches several messages, is an
// error.
func resolveDeadLetters(ctx context.Context, b *bus.Bus, refs []deadLetterRef) ([]bus.DeadLetter, error) {
	found := make([][]bus.DeadLetter, len(refs))
	err := eachDeadLetter(ctx, b, bus.DeadLetterFilter{}, func(dl bus.DeadLetter) error {
		for i, r := range refs {
			if r.matches(dl) {
				found[i] = append(found[i], dl)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []bus.DeadLetter
	seen := map[uint64]bool{}
	for i, r := range refs {
		if len(found[i]) == 0 {
			return nil, fmt.Errorf("no dead letter has sequence or message id %q%s; 'choreo dlq ls' lists them", r.arg, inNamespace(b.Namespace()))
		}
		ids := map[string]bool{}
		for _, dl := range found[i] {
			ids[envelopeID(dl)] = true
		}
		if len(ids) > 1 {
			names := make([]string, 0, len(ids))
			for id := range ids {
				names = append(names, id)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("%q names several messages (%s); give more of the id or the sequence", r.arg, strings.Join(names, ", "))
		}
		for _, dl := range found[i] {
			if !seen[dl.Sequence] {
				seen[dl.Sequence] = true
				out = append(out, dl)
			}
		}
	}
	slices.SortFunc(out, func(a, b bus.DeadLetter) int { return cmp.Compare(a.Sequence, b.Sequence) })
	return out, nil
}

const dlqShowHelp = `
Usage: choreo dlq show ID...

Prints dead letters in full: where the message came from, why and when its
group gave up, its CloudEvents attributes, every header and the payload
(indented when it is JSON). ID is a sequence (the SEQ of 'dlq ls'), a
message id, or its last 6 or more characters.

-json prints one object per dead letter with the fields of 'dlq ls -json'
plus headers (name to list of values) and data (the payload: JSON as is,
anything else as a string).

Example:

	choreo dlq show 7
`

func (c *cli) dlqShow(ctx context.Context, args []string) int {
	o := c.newOps("choreo dlq show")
	pos, code, ok := o.parse(dlqShowHelp, args, 1, -1)
	if !ok {
		return code
	}
	refs, err := parseDeadLetterRefs(pos)
	if err != nil {
		return o.usage("%v", err)
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	dls, err := resolveDeadLetters(ctx, b, refs)
	if err != nil {
		return o.fail(err)
	}
	for i, dl := range dls {
		r := deadLetterRecord(b.Namespace(), dl, true)
		if o.conn.json {
			if err := o.emit(r); err != nil {
				return o.fail(err)
			}
			continue
		}
		if i > 0 {
			o.printf("\n")
		}
		o.showDeadLetter(r, dl)
	}
	return exitOK
}

// showDeadLetter prints one dead letter for a reader.
func (o *opsCommand) showDeadLetter(r deadLetterJSON, dl bus.DeadLetter) {
	o.printf("dead letter %d\n", r.Seq)
	field := func(name, value string) {
		if value != "" {
			o.printf("  %-12s %s\n", name, value)
		}
	}
	field("consumer", fmt.Sprintf("%s (group %s)", r.Consumer, r.Group))
	if r.Topic != "" {
		field("topic", fmt.Sprintf("%s (%s) on %s", r.Topic, r.Kind, r.Subject))
	} else {
		field("subject", r.Subject)
	}
	field("reason", r.Reason)
	field("deliveries", strconv.Itoa(r.Deliveries))
	field("failed at", clock(dl.FailedAt))
	field("original", fmt.Sprintf("%s #%d", r.Stream, r.StreamSeq))
	field("reduced", r.Reduced)
	if dl.Envelope == nil {
		field("note", "not a CloudEvent: the headers below are all there is")
	} else {
		field("id", r.ID)
		field("source", r.Source)
		field("type", r.Type)
		field("correlation", r.CorrelationID)
		field("causation", r.CausationID)
		if dl.Envelope.Subject != "" {
			field("about", dl.Envelope.Subject)
		}
		if !dl.Envelope.Time.IsZero() {
			field("time", clock(dl.Envelope.Time))
		}
	}
	o.printf("headers:\n")
	names := make([]string, 0, len(dl.Header))
	for k := range dl.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range dl.Header[k] {
			o.printf("  %s: %s\n", k, preview([]byte(v), 200))
		}
	}
	o.printf("data (%d bytes):\n", len(dl.Data))
	var pretty bytes.Buffer
	if json.Indent(&pretty, dl.Data, "  ", "  ") == nil {
		o.printf("  %s\n", pretty.String())
	} else if len(dl.Data) > 0 {
		o.printf("  %s\n", preview(dl.Data, 2000))
	}
}
