package main

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// tailJSON is one line of 'tail -json'.
type tailJSON struct {
	From          string    `json:"from"` // "history" or "live"
	Time          time.Time `json:"time"`
	Kind          string    `json:"kind,omitempty"`
	Topic         string    `json:"topic,omitempty"`
	Subject       string    `json:"subject"`
	ID            string    `json:"id,omitempty"`
	Source        string    `json:"source,omitempty"`
	Type          string    `json:"type,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
	RedeliverTo   string    `json:"redeliver_to,omitempty"`
	Stream        string    `json:"stream,omitempty"`
	StreamSeq     uint64    `json:"stream_seq,omitempty"`
	Size          int       `json:"size"`
	Data          any       `json:"data,omitempty"`
	Problem       string    `json:"problem,omitempty"`
}

// tailMessage is a message tail has read, live or from a stream.
type tailMessage struct {
	storedMsg
	live bool
	env  *envelope.Envelope
	err  error // why it is no CloudEvent
}

func newTailMessage(m storedMsg, live bool) tailMessage {
	t := tailMessage{storedMsg: m, live: live}
	t.env, t.err = envelope.Read(m.Header, m.Data)
	return t
}

// record is the message as a tail line's fields.
func (t tailMessage) record(ns string) tailJSON {
	r := tailJSON{From: "history", Time: t.Time.UTC(), Subject: t.Subject, Stream: t.Stream, StreamSeq: t.Seq,
		Size: len(t.Data), Data: jsonData(t.Data), RedeliverTo: t.Header.Get(topic.HeaderRedeliverTo)}
	if t.live {
		r.From = "live"
	}
	if k, n, err := topic.ParseSubject(ns, t.Subject); err == nil {
		r.Kind, r.Topic = k.String(), n.String()
	}
	if e := t.env; e != nil {
		r.ID, r.Source, r.Type, r.CorrelationID, r.CausationID = e.ID, e.Source, e.Type, e.CorrelationID, e.CausationID
		if !e.Time.IsZero() {
			r.Time = e.Time.UTC()
		}
	} else if t.err != nil {
		r.Problem = "not a CloudEvent: " + t.err.Error()
	}
	return r
}

// msgID is what tells two copies of one publish apart from two publishes.
func (t tailMessage) msgID() string {
	if id := t.Header.Get(jetstream.MsgIDHeader); id != "" {
		return id
	}
	if t.env != nil {
		return t.env.Source + " " + t.env.ID
	}
	return ""
}

// tailFilter holds the flags that select messages by their attributes.
type tailFilter struct {
	correlation, source string
}

func (f tailFilter) keep(t tailMessage) bool {
	if f.correlation == "" && f.source == "" {
		return true
	}
	if t.env == nil {
		return false
	}
	return (f.correlation == "" || t.env.CorrelationID == f.correlation || t.env.ID == f.correlation) &&
		(f.source == "" || t.env.Source == f.source)
}

// tailLine is a message as one line of text: time, kind, topic, id,
// correlation, source, size, and the start of the payload.
func tailLine(r tailJSON) string {
	kind := map[string]string{"command": "cmd", "event": "evt"}[r.Kind]
	what := orDefault(r.Topic, r.Subject)
	extra := ""
	if r.RedeliverTo != "" {
		extra = " [replay to " + r.RedeliverTo + "]"
	}
	if r.Problem != "" {
		extra += " [" + r.Problem + "]"
	}
	return fmt.Sprintf("%-12s  %-3s  %-24s  %-8s  %-8s  %-12s  %6s  %s%s",
		clock(r.Time), orDash(kind), what, shortID(r.ID), shortID(r.CorrelationID), orDash(r.Source),
		bytesText(uint64(r.Size)), preview(rawPayload(r.Data), 80), extra)
}

// tailHeader names the columns of tailLine.
const tailHeader = "TIME          KIND TOPIC                     ID        CORR      SOURCE          SIZE  PAYLOAD"

func rawPayload(v any) []byte {
	switch d := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(d)
	case json.RawMessage:
		return d
	default:
		return []byte(fmt.Sprint(d))
	}
}

// tailPatterns turns the TOPIC and PATTERN arguments into wire subjects of
// the kinds asked for: "v1.user.signup", "v1.user.*", "*.user.>", ">" (the
// default: everything).
func tailPatterns(ns string, args []string, kinds []topic.Kind) ([]string, error) {
	if len(args) == 0 {
		args = []string{">"}
	}
	prefix := ""
	if ns != "" {
		prefix = ns + "."
	}
	var subjects []string
	for _, a := range args {
		if err := checkPattern(a); err != nil {
			return nil, err
		}
		for _, k := range kinds {
			tok := "cmd"
			if k == topic.KindEvent {
				tok = "evt"
			}
			subjects = append(subjects, prefix+tok+"."+a)
		}
	}
	return subjects, nil
}

// checkPattern accepts a topic name, or one with NATS wildcards in place
// of whole segments: * for one, > for the rest.
func checkPattern(p string) error {
	if !strings.ContainsAny(p, "*>") {
		if _, err := topic.Parse(p); err != nil {
			return err
		}
		return nil
	}
	segs := strings.Split(p, ".")
	for i, s := range segs {
		switch {
		case s == "*":
		case s == ">" && i == len(segs)-1:
		case s == ">":
			return fmt.Errorf("pattern %q: > stands for the rest of a topic and must come last", p)
		case s == "" || strings.TrimFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }) != "":
			return fmt.Errorf("pattern %q: segment %d %q is neither a topic segment (lower-case letters and digits) nor * or >", p, i+1, s)
		}
	}
	return nil
}

// mergeByTime merges streams read oldest first into one sequence ordered
// by time, holding one message per stream.
func mergeByTime(readers []iter.Seq2[storedMsg, error]) iter.Seq2[storedMsg, error] {
	return func(yield func(storedMsg, error) bool) {
		type head struct {
			next func() (storedMsg, error, bool)
			stop func()
			msg  storedMsg
			ok   bool
		}
		heads := make([]*head, len(readers))
		defer func() {
			for _, h := range heads {
				h.stop()
			}
		}()
		for i, r := range readers {
			next, stop := iter.Pull2(r)
			heads[i] = &head{next: next, stop: stop}
			var err error
			if heads[i].msg, err, heads[i].ok = next(); err != nil {
				yield(storedMsg{}, err)
				return
			}
		}
		for {
			var first *head
			for _, h := range heads {
				if h.ok && (first == nil || h.msg.Time.Before(first.msg.Time)) {
					first = h
				}
			}
			if first == nil {
				return
			}
			if !yield(first.msg, nil) {
				return
			}
			var err error
			if first.msg, err, first.ok = first.next(); err != nil {
				yield(storedMsg{}, err)
				return
			}
		}
	}
}

// headerOf copies a core message's header, which may be nil.
func headerOf(m *nats.Msg) nats.Header {
	if m.Header == nil {
		return nats.Header{}
	}
	return m.Header
}
