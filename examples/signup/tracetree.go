package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// printSignupTrace prints, as an indented tree, the trace of the signup
// whose welcome email needed a second attempt (flakyAddress's): every
// span of the choreography from web's send to ops seeing
// v1.email.welcome.sent, with the service, the outcome and the duration.
func printSignupTrace(out io.Writer, spans tracetest.SpanStubs) error {
	id, ok := retriedTrace(spans)
	if !ok {
		return errors.New("-trace: no trace has a retried delivery; the flaky welcome email should have made one")
	}
	var mine tracetest.SpanStubs
	for _, s := range spans {
		if s.SpanContext.TraceID() == id {
			mine = append(mine, s)
		}
	}
	fmt.Fprintf(out, "\ntrace %s: the signup whose welcome email was retried, %d spans\n", id, len(mine))
	for _, root := range buildTree(mine) {
		root.print(out, "", "")
	}
	return nil
}

// retriedTrace finds the trace with a delivery that was retried.
func retriedTrace(spans tracetest.SpanStubs) (oteltrace.TraceID, bool) {
	for _, s := range spans {
		if attr(s, "choreo.settlement") == "retry" {
			return s.SpanContext.TraceID(), true
		}
	}
	return oteltrace.TraceID{}, false
}

type spanNode struct {
	span     tracetest.SpanStub
	children []*spanNode
}

// buildTree links spans to their parents; spans whose parent is not among
// them are roots. Children are in the order they started.
func buildTree(spans tracetest.SpanStubs) []*spanNode {
	byID := make(map[oteltrace.SpanID]*spanNode, len(spans))
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = &spanNode{span: s}
	}
	var roots []*spanNode
	for _, s := range spans {
		n := byID[s.SpanContext.SpanID()]
		if p, ok := byID[s.Parent.SpanID()]; ok && s.Parent.IsValid() {
			p.children = append(p.children, n)
		} else {
			roots = append(roots, n)
		}
	}
	byStart := func(a, b *spanNode) int { return a.span.StartTime.Compare(b.span.StartTime) }
	slices.SortFunc(roots, byStart)
	for _, n := range byID {
		slices.SortFunc(n.children, byStart)
	}
	return roots
}

// treeWidth is the column of the service name: the deepest name of the
// signup's tree fits.
const treeWidth = 48

// print writes n and its children; lead is what precedes n's own line and
// indent what precedes its children's.
func (n *spanNode) print(out io.Writer, lead, indent string) {
	label := lead + n.span.Name
	pad := max(1, treeWidth-len([]rune(label)))
	line := fmt.Sprintf("%s%s%-9s %-7s %s", label, strings.Repeat(" ", pad), service(n.span), roundDuration(n.span.EndTime.Sub(n.span.StartTime)), outcome(n.span))
	fmt.Fprintln(out, strings.TrimRight(line, " "))
	for i, c := range n.children {
		if i == len(n.children)-1 {
			c.print(out, indent+"└─ ", indent+"   ")
		} else {
			c.print(out, indent+"├─ ", indent+"│  ")
		}
	}
}

// service is who made the span: the consumer group for a delivery, the
// sending service (the message's CloudEvents source) for a send.
func service(s tracetest.SpanStub) string {
	if g := attr(s, "messaging.consumer.group.name"); g != "" {
		return g
	}
	return attr(s, "cloudevents.event_source")
}

// outcome says what became of a delivery attempt.
func outcome(s tracetest.SpanStub) string {
	settlement := attr(s, "choreo.settlement")
	if settlement == "" {
		return ""
	}
	text := "attempt " + attr(s, "choreo.delivery.attempt") + ": " + settlement
	if s.Status.Description != "" {
		text += " (" + s.Status.Description + ")"
	}
	return text
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Millisecond {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
