package main

import (
	"slices"
	"strings"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// Where a message of a trace was found.
const (
	whereEvents     = "event_stream" // in its event stream
	whereWorkQueue  = "work_queue"   // a command no handler has finished
	whereDeadLetter = "dead_letter"  // only in the dead-letter stream
	whereGone       = "gone"         // named as a cause, but no longer on the bus
)

// traceNode is one message of a chain.
type traceNode struct {
	ID             string         `json:"id"`
	Kind           string         `json:"kind,omitempty"`
	Topic          string         `json:"topic,omitempty"`
	Source         string         `json:"source,omitempty"`
	Time           *time.Time     `json:"time,omitempty"`
	CorrelationID  string         `json:"correlation_id,omitempty"`
	CausationID    string         `json:"causation_id,omitempty"`
	ParentID       string         `json:"parent_id,omitempty"`
	Depth          int            `json:"depth"`
	Where          string         `json:"where"`
	Stream         string         `json:"stream,omitempty"`
	StreamSeq      uint64         `json:"stream_seq,omitempty"`
	SinceParentMS  *int64         `json:"since_parent_ms,omitempty"`
	ReplayedTo     []string       `json:"replayed_to,omitempty"`
	ProbableTopics []string       `json:"probable_topics,omitempty"`
	Note           string         `json:"note,omitempty"`
	Consumers      []traceOutcome `json:"consumers"`

	subject  string
	replays  map[string]uint64 // stream sequence of the replayed copy, by target consumer
	parent   *traceNode
	children []*traceNode
}

// traceOutcome is how one group fared with a message.
type traceOutcome struct {
	Consumer      string `json:"consumer"`
	Group         string `json:"group"`
	State         string `json:"state"` // handled, delivered, waiting, dead_letter
	DeadLetterSeq uint64 `json:"dead_letter_seq,omitempty"`
	Deliveries    int    `json:"deliveries,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// traceTree collects a chain's messages and links them.
type traceTree struct {
	ns, corr string
	streams  []topicStream
	byID     map[string]*traceNode
	nodes    []*traceNode
	dead     []bus.DeadLetter
	roots    []*traceNode
}

func newTraceTree(ns, corr string, streams []topicStream) *traceTree {
	return &traceTree{ns: ns, corr: corr, streams: streams, byID: map[string]*traceNode{}}
}

// node returns the node of a message id, making it on first sight.
func (t *traceTree) node(env *envelope.Envelope, subject string, at time.Time) *traceNode {
	n := t.byID[env.ID]
	if n == nil {
		n = &traceNode{ID: env.ID, replays: map[string]uint64{}}
		t.byID[env.ID] = n
		t.nodes = append(t.nodes, n)
	}
	if n.Source == "" {
		n.Source, n.CorrelationID, n.CausationID, n.subject = env.Source, env.CorrelationID, env.CausationID, subject
		if k, name, ok := kindOfSubject(t.ns, subject); ok {
			n.Kind, n.Topic = k.String(), name
		}
		if !env.Time.IsZero() {
			at = env.Time
		}
		n.Time = optionalTime(at)
	}
	return n
}

// addStored adds a message read from a topic stream.
func (t *traceTree) addStored(m storedMsg, env *envelope.Envelope) {
	n := t.node(env, m.Subject, m.Time)
	if to := m.Header.Get(topic.HeaderRedeliverTo); to != "" {
		n.replays[to] = m.Seq
		n.ReplayedTo = append(n.ReplayedTo, to)
		if n.Where == "" {
			n.Where, n.Stream = whereEvents, m.Stream // the original is gone; the copy stands in
		}
		return
	}
	n.Where, n.Stream, n.StreamSeq = whereEvents, m.Stream, m.Seq
	if k, _, ok := kindOfSubject(t.ns, m.Subject); ok && k == topic.KindCommand {
		n.Where = whereWorkQueue
	}
}

// addDeadLetter adds a dead letter of the chain.
func (t *traceTree) addDeadLetter(dl bus.DeadLetter) {
	n := t.node(dl.Envelope, dl.Subject, dl.FailedAt)
	if n.Where == "" {
		n.Where, n.Stream, n.StreamSeq = whereDeadLetter, dl.Stream, dl.StreamSequence
	}
	t.dead = append(t.dead, dl)
}

// build works out outcomes, fills the gaps and links the tree.
func (t *traceTree) build() {
	for _, n := range slices.Clone(t.nodes) {
		t.outcomes(n)
	}
	for _, n := range slices.Clone(t.nodes) {
		if n.CausationID != "" && n.CausationID != n.ID && t.byID[n.CausationID] == nil {
			t.addGone(n)
		}
	}
	for _, n := range t.nodes {
		if p := t.byID[n.CausationID]; p != nil && p != n && !descends(p, n) {
			n.parent = p
			p.children = append(p.children, n)
		}
	}
	for _, n := range t.nodes {
		if n.parent == nil {
			t.roots = append(t.roots, n)
		}
		slices.SortStableFunc(n.children, byTime)
	}
	slices.SortStableFunc(t.roots, byTime)
}

// descends reports whether p is n or below it: linking would make a cycle,
// which only forged causation ids can produce.
func descends(p, n *traceNode) bool {
	for x := p; x != nil; x = x.parent {
		if x == n {
			return true
		}
	}
	return false
}

func byTime(a, b *traceNode) int { return nodeTime(a).Compare(nodeTime(b)) }

// nodeTime is when a message was sent; a gone one is placed before its
// first child.
func nodeTime(n *traceNode) time.Time {
	if n.Time != nil {
		return *n.Time
	}
	var first time.Time
	for _, c := range n.children {
		if t := nodeTime(c); first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}

// outcomes works out how each group reading a message fared: from its dead
// letters, then from where the group's consumer stands in the stream.
func (t *traceTree) outcomes(n *traceNode) {
	seen := map[string]bool{}
	for _, dl := range t.dead {
		if dl.Envelope.ID == n.ID && !seen[dl.Consumer] {
			seen[dl.Consumer] = true
			n.Consumers = append(n.Consumers, traceOutcome{Consumer: dl.Consumer, Group: groupOf(dl.Consumer), State: "dead_letter",
				DeadLetterSeq: dl.Sequence, Deliveries: dl.Deliveries, Reason: dl.Reason})
		}
	}
	for _, s := range t.streams {
		if s.Name != n.Stream {
			continue
		}
		for _, gc := range s.Consumers {
			if gc.Info.Config.FilterSubject != n.subject || seen[gc.Name] {
				continue
			}
			seq := n.StreamSeq
			if r, ok := n.replays[gc.Name]; ok {
				seq = r // judged by the replayed copy
			}
			state := "waiting"
			switch {
			case seq == 0:
				continue
			case n.Where == whereDeadLetter:
				continue // only its dead letters know about it
			case seq <= gc.Info.AckFloor.Stream:
				state = "handled"
			case seq <= gc.Info.Delivered.Stream:
				state = "delivered"
			}
			n.Consumers = append(n.Consumers, traceOutcome{Consumer: gc.Name, Group: gc.Group, State: state})
		}
	}
	slices.SortFunc(n.Consumers, func(a, b traceOutcome) int { return strings.Compare(a.Consumer, b.Consumer) })
}

// addGone adds the message a node names as its cause but that is no longer
// on the bus: usually a command, removed from its work queue once handled.
// The groups that handle commands under the child's source name suggest
// which command it was.
func (t *traceTree) addGone(child *traceNode) {
	g := &traceNode{ID: child.CausationID, CorrelationID: t.corr, Where: whereGone, replays: map[string]uint64{}}
	for _, s := range t.streams {
		for _, gc := range s.Consumers {
			if s.Kind == topic.KindCommand && gc.Group == child.Source && gc.Topic != "" {
				g.ProbableTopics = append(g.ProbableTopics, gc.Topic)
			}
		}
	}
	g.Note = "not on the bus any more: a command that was handled (work queues remove handled commands), or a message older than its stream keeps"
	if len(g.ProbableTopics) > 0 {
		g.Note = "a command handled by " + child.Source + " and removed from its work queue; its sender is not known"
	}
	t.byID[g.ID] = g
	t.nodes = append(t.nodes, g)
}
