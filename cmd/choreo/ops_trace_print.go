package main

import (
	"fmt"
	"strings"
	"time"
)

// print writes the tree: as text, or as one JSON object per message,
// parents before children.
func (t *traceTree) print(o *opsCommand) error {
	var order []*traceNode
	var walk func(n *traceNode, depth int)
	walk = func(n *traceNode, depth int) {
		n.Depth = depth
		if n.parent != nil {
			n.ParentID = n.parent.ID
			if n.Time != nil && n.parent.Time != nil {
				ms := n.Time.Sub(*n.parent.Time).Milliseconds()
				n.SinceParentMS = &ms
			}
		}
		order = append(order, n)
		for _, c := range n.children {
			walk(c, depth+1)
		}
	}
	for _, r := range t.roots {
		walk(r, 0)
	}
	if o.conn.json {
		for _, n := range order {
			if n.Consumers == nil {
				n.Consumers = []traceOutcome{}
			}
			if err := o.emit(n); err != nil {
				return err
			}
		}
		return nil
	}
	o.printf("%s\n\n", t.summary(order))
	for i, r := range t.roots {
		if i > 0 {
			o.printf("\n")
		}
		t.printNode(o, r, "", "")
	}
	gone := 0
	for _, n := range order {
		if n.Where == whereGone {
			gone++
		}
	}
	o.printf("\nNot on the bus: ")
	if gone > 0 {
		o.printf("the senders of handled commands (a work queue removes a command once handled; the events it caused name it); ")
	}
	o.printf("retries that ended in success; messages older than their stream keeps.\n")
	return nil
}

// summary is the first line: how many messages, over how long.
func (t *traceTree) summary(order []*traceNode) string {
	var first, last time.Time
	counts := map[string]int{}
	for _, n := range order {
		counts[n.Where]++
		if n.Time == nil {
			continue
		}
		if first.IsZero() || n.Time.Before(first) {
			first = *n.Time
		}
		if n.Time.After(last) {
			last = *n.Time
		}
	}
	parts := []string{plural(len(order), "message")}
	for _, w := range []struct{ key, text string }{
		{whereWorkQueue, "waiting in a work queue"}, {whereDeadLetter, "only in the dead-letter queue"}, {whereGone, "no longer on the bus"},
	} {
		if counts[w.key] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[w.key], w.text))
		}
	}
	s := fmt.Sprintf("correlation %s: %s", t.corr, strings.Join(parts, ", "))
	switch {
	case last.After(first):
		s += fmt.Sprintf("; %s from first to last, from %s", last.Sub(first).Round(time.Millisecond), clock(first))
	case !first.IsZero():
		s += "; at " + clock(first)
	}
	return s
}

// printNode prints a message, the groups that read it, and its children.
func (t *traceTree) printNode(o *opsCommand, n *traceNode, prefix, childPrefix string) {
	o.printf("%s%s\n", prefix, nodeLine(n))
	type item struct {
		text string
		node *traceNode
	}
	var items []item
	for _, c := range n.Consumers {
		items = append(items, item{text: outcomeLine(c)})
	}
	if len(n.Consumers) == 0 && n.Where == whereEvents && n.Kind == "event" {
		items = append(items, item{text: "(no group reads " + n.Topic + ")"})
	}
	for _, c := range n.children {
		items = append(items, item{node: c})
	}
	for i, it := range items {
		branch, next := "├─ ", "│  "
		if i == len(items)-1 {
			branch, next = "└─ ", "   "
		}
		if it.node == nil {
			o.printf("%s%s%s\n", childPrefix, branch, it.text)
			continue
		}
		t.printNode(o, it.node, childPrefix+branch, childPrefix+next)
	}
}

// nodeLine is a message's own line.
func nodeLine(n *traceNode) string {
	if n.Where == whereGone {
		what := "message"
		if len(n.ProbableTopics) > 0 {
			what = "command, probably " + strings.Join(n.ProbableTopics, " or ")
		}
		return fmt.Sprintf("? %s  %s: %s", shortID(n.ID), what, n.Note)
	}
	kind := map[string]string{"command": "cmd", "event": "evt"}[n.Kind]
	s := fmt.Sprintf("%s %s  %s  from %s", orDash(kind), orDefault(n.Topic, n.subject), shortID(n.ID), orDash(n.Source))
	if n.SinceParentMS != nil {
		s += fmt.Sprintf("  +%s", (time.Duration(*n.SinceParentMS) * time.Millisecond).String())
	} else if n.Time != nil {
		s += "  " + clock(*n.Time)
	}
	switch n.Where {
	case whereWorkQueue:
		s += "  [waiting in " + n.Stream + "]"
	case whereDeadLetter:
		s += "  [only in the dead-letter queue]"
	}
	if len(n.ReplayedTo) > 0 {
		s += "  [replayed to " + strings.Join(n.ReplayedTo, ", ") + "]"
	}
	return s
}

// outcomeLine is how one group fared.
func outcomeLine(c traceOutcome) string {
	switch c.State {
	case "dead_letter":
		return fmt.Sprintf("%s: dead letter %d after %s: %s", c.Group, c.DeadLetterSeq, deliveries(c.Deliveries), c.Reason)
	case "handled":
		return c.Group + ": handled"
	case "delivered":
		return c.Group + ": delivered, not acknowledged yet (being handled or retried)"
	}
	return c.Group + ": waiting (not delivered yet)"
}

func deliveries(n int) string {
	if n == 1 {
		return "1 delivery"
	}
	return fmt.Sprintf("%d deliveries", n)
}
