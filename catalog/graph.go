package catalog

import (
	"fmt"
	"strings"

	"github.com/choreo-bus/choreo/topic"
)

// GraphFormat selects the language GenerateGraph writes.
type GraphFormat string

const (
	// GraphMermaid is a Mermaid flowchart, which GitHub and many wikis
	// render inside ```mermaid code blocks.
	GraphMermaid GraphFormat = "mermaid"
	// GraphDot is a Graphviz digraph (render with `dot -Tsvg`).
	GraphDot GraphFormat = "dot"
)

// GenerateGraph draws who talks to whom: services as rounded boxes,
// commands and events as nodes of their own shape and colour, and one
// labelled edge per use, in the direction messages flow (service -sends->
// command -handles-> service -publishes-> event -subscribes-> service);
// command traffic is drawn solid and event traffic dashed.
// Output is stable: nodes sorted by name, edges by service then in the
// service's order.
//
// It refuses a catalog with errors in the topics or in the service
// references (an error matching ErrInvalid).
func GenerateGraph(c *Catalog, format GraphFormat) ([]byte, error) {
	var blocking []Diagnostic
	for _, d := range Lint(c) {
		if asyncRules[d.Rule] {
			blocking = append(blocking, d)
		}
	}
	if err := errorsOf(blocking); err != nil {
		return nil, err
	}
	g := newGraph(c)
	var out []byte
	switch format {
	case GraphMermaid:
		out = g.mermaid()
	case GraphDot:
		out = g.dot()
	default:
		return nil, fmt.Errorf("unknown graph format %q; use %s or %s", format, GraphMermaid, GraphDot)
	}
	if err := checkOutputSize(c, "graph", len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// graph is the format-neutral picture: nodes with stable IDs and edges.
type graph struct {
	services []graphNode
	commands []graphNode
	events   []graphNode
	edges    []graphEdge
}

type graphNode struct{ id, label string }

type graphEdge struct {
	from, to string
	label    Role
}

func newGraph(c *Catalog) *graph {
	g := &graph{}
	ids := map[string]bool{}
	// next remembers, per base ID, the number to try next, so that many
	// names sanitizing to the same ID (a-b, a_b, ...) cost one step each
	// rather than a walk past every number already taken.
	next := map[string]int{}
	unique := func(id string) string {
		base := id
		for i := max(next[base], 2); ids[id]; i++ {
			id = fmt.Sprintf("%s_%d", base, i)
			next[base] = i + 1
		}
		ids[id] = true
		return id
	}
	svcID := map[string]string{}
	for _, s := range c.Services {
		svcID[s.Name] = unique("svc_" + sanitizeID(s.Name))
		g.services = append(g.services, graphNode{svcID[s.Name], s.Name})
	}
	topicID := map[string]string{}
	for _, t := range c.Topics {
		if t.Kind == topic.KindCommand {
			topicID[t.Name] = unique("cmd_" + sanitizeID(t.Name))
			g.commands = append(g.commands, graphNode{topicID[t.Name], t.Name})
		} else {
			topicID[t.Name] = unique("evt_" + sanitizeID(t.Name))
			g.events = append(g.events, graphNode{topicID[t.Name], t.Name})
		}
	}
	seen := map[graphEdge]bool{}
	for _, s := range c.Services {
		for _, u := range s.Uses {
			e := graphEdge{svcID[s.Name], topicID[u.Topic], u.Role}
			if u.Role == RoleHandles || u.Role == RoleSubscribes {
				e.from, e.to = e.to, e.from
			}
			if !seen[e] {
				seen[e] = true
				g.edges = append(g.edges, e)
			}
		}
	}
	return g
}

// sanitizeID keeps letters and digits and turns everything else into "_",
// which Mermaid accepts in node IDs.
func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

func (g *graph) mermaid() []byte {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, n := range g.services {
		fmt.Fprintf(&b, "  %s(%s)\n", n.id, mermaidQuote(n.label))
	}
	for _, n := range g.commands {
		fmt.Fprintf(&b, "  %s[/%s/]\n", n.id, mermaidQuote(n.label))
	}
	for _, n := range g.events {
		fmt.Fprintf(&b, "  %s([%s])\n", n.id, mermaidQuote(n.label))
	}
	for _, e := range g.edges {
		arrow := "-->" // command traffic: solid
		if e.label == RolePublishes || e.label == RoleSubscribes {
			arrow = "-.->" // event traffic: dotted
		}
		fmt.Fprintf(&b, "  %s %s|%s| %s\n", e.from, arrow, e.label, e.to)
	}
	b.WriteString("  classDef service fill:#e8f0fe,stroke:#1a73e8,color:#0b1f44\n")
	b.WriteString("  classDef command fill:#fef3e2,stroke:#e8710a,color:#3d1f00\n")
	b.WriteString("  classDef event fill:#e6f4ea,stroke:#188038,color:#0b2e13\n")
	for _, group := range []struct {
		class string
		nodes []graphNode
	}{{"service", g.services}, {"command", g.commands}, {"event", g.events}} {
		if len(group.nodes) == 0 {
			continue
		}
		ids := make([]string, len(group.nodes))
		for i, n := range group.nodes {
			ids[i] = n.id
		}
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), group.class)
	}
	return []byte(b.String())
}

func (g *graph) dot() []byte {
	var b strings.Builder
	b.WriteString("digraph choreo {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [fontname=\"Helvetica\", style=filled];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, n := range g.services {
		fmt.Fprintf(&b, "  %s [label=%s, shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", color=\"#1a73e8\"];\n", dotQuote(n.id), dotQuote(n.label))
	}
	for _, n := range g.commands {
		fmt.Fprintf(&b, "  %s [label=%s, shape=cds, fillcolor=\"#fef3e2\", color=\"#e8710a\"];\n", dotQuote(n.id), dotQuote(n.label))
	}
	for _, n := range g.events {
		fmt.Fprintf(&b, "  %s [label=%s, shape=ellipse, fillcolor=\"#e6f4ea\", color=\"#188038\"];\n", dotQuote(n.id), dotQuote(n.label))
	}
	for _, e := range g.edges {
		style := ""
		if e.label == RolePublishes || e.label == RoleSubscribes {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s%s];\n", dotQuote(e.from), dotQuote(e.to), dotQuote(string(e.label)), style)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// dotQuote returns s as a Graphviz quoted string, on one line and with
// any character catalog text must not hold written as an escape.
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(escapeUnsafe(s, false)) + `"`
}

// mermaidQuote returns s as a Mermaid quoted label. Mermaid has no
// backslash escapes inside quotes; a quote is written as the entity #quot;.
func mermaidQuote(s string) string {
	return `"` + strings.ReplaceAll(escapeUnsafe(s, false), `"`, "#quot;") + `"`
}
