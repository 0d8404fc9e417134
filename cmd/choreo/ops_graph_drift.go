package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/choreo-bus/choreo/catalog"
)

// driftJSON is one drift line of 'graph -live -json'.
type driftJSON struct {
	Type    string `json:"type"` // "drift"
	Problem string `json:"problem"`
	Service string `json:"service,omitempty"`
	Role    string `json:"role,omitempty"`
	Topic   string `json:"topic"`
	Message string `json:"message"`
}

func (c *cli) liveGraph(ctx context.Context, args []string) int {
	o := c.newOps("choreo graph")
	o.fs.Bool("live", true, "draw what the bus shows rather than a catalog")
	catalogPath := o.fs.String("catalog", "", "catalog `file` to compare with (default: none, no drift report)")
	forDur := o.fs.Duration("for", 0, "also watch live traffic this long, e.g. 30s")
	since := o.fs.Duration("since", 0, "only stored messages of this `duration` (default: everything retained)")
	format := o.fs.String("format", string(catalog.GraphMermaid), "graph `language`: mermaid or dot")
	out := o.fs.String("out", "", "`file` to write the graph to (default: standard output)")
	if _, code, ok := o.parse(liveGraphHelp, args, 0, 0); !ok {
		return code
	}
	f := catalog.GraphFormat(*format)
	switch {
	case f != catalog.GraphMermaid && f != catalog.GraphDot:
		return o.usage("-format %q: use mermaid or dot", *format)
	case *forDur < 0 || *since < 0:
		return o.usage("-for and -since take positive durations such as 30s")
	}
	var declared *catalog.Catalog
	if *catalogPath != "" {
		var err error
		if declared, err = catalog.Load(*catalogPath); err != nil {
			c.reportError(o.name, err)
			return exitFail
		}
	}
	if *forDur > 0 {
		var stop context.CancelFunc
		ctx, stop = interruptible(ctx) // after the catalog: reading it may block on a pipe
		defer stop()
	}
	b := o.connect(ctx)
	if b == nil {
		return exitFail
	}
	defer closeBus(b)
	ob, err := observe(ctx, o, b, sinceFlag(*since), *forDur)
	if err != nil {
		return o.fail(err)
	}
	uses := ob.list()
	graph, err := drawObserved(ob, uses, f)
	if err != nil {
		return o.fail(err)
	}
	var drift []driftJSON
	if declared != nil {
		drift = driftOf(declared, ob, uses)
	}
	if o.conn.json {
		for _, u := range uses {
			if err := o.emit(u); err != nil {
				return o.fail(err)
			}
		}
		for _, d := range drift {
			if err := o.emit(d); err != nil {
				return o.fail(err)
			}
		}
		if *out != "" {
			if err := writeFileAtomic(*out, graph); err != nil {
				return o.fail(err)
			}
		}
	} else {
		if err := c.writeOutput(*out, graph); err != nil {
			return o.fail(err)
		}
		for _, d := range drift {
			fmt.Fprintf(c.stderr, "drift: %s: %s\n", d.Problem, d.Message)
		}
	}
	if len(drift) > 0 {
		if !o.conn.json {
			fmt.Fprintf(c.stderr, "%s: %s between %s and the bus\n", o.name, plural(len(drift), "drift"), *catalogPath)
		}
		return exitFail
	}
	return exitOK
}

// drawObserved draws the observation with the catalog's graph drawing, by
// writing it as a catalog: every topic with its kind (the tense check is
// skipped: the bus shows what is, right or wrong), every service with its
// uses.
func drawObserved(ob *observation, uses []*observedUse, f catalog.GraphFormat) ([]byte, error) {
	type topicDoc struct {
		Kind           string `yaml:"kind"`
		SkipTenseCheck bool   `yaml:"skip_tense_check"`
	}
	topics := map[string]topicDoc{}
	for name, k := range ob.topics {
		topics[name] = topicDoc{Kind: k.String(), SkipTenseCheck: true}
	}
	services := map[string]map[string][]string{}
	for _, u := range uses {
		if services[u.Service] == nil {
			services[u.Service] = map[string][]string{}
		}
		services[u.Service][u.Role] = append(services[u.Service][u.Role], u.Topic)
	}
	doc := map[string]any{"version": catalog.FormatVersion, "topics": topics}
	if len(services) > 0 {
		doc["services"] = services
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Parse("observed", data)
	if err != nil {
		return nil, fmt.Errorf("drawing what the bus shows: %w", err)
	}
	return catalog.GenerateGraph(cat, f)
}

// driftOf compares what the bus shows with a catalog.
func driftOf(declared *catalog.Catalog, ob *observation, uses []*observedUse) []driftJSON {
	var drift []driftJSON
	seen := func(name string) bool { _, ok := ob.topics[name]; return ok }
	names := make([]string, 0, len(ob.topics))
	for name := range ob.topics {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if declared.Topic(name) == nil {
			drift = append(drift, driftJSON{Type: "drift", Problem: "undeclared_topic", Topic: name,
				Message: fmt.Sprintf("%s %s is on the bus but not in the catalog", ob.topics[name], name)})
		}
	}
	for _, t := range declared.Topics {
		if !seen(t.Name) {
			drift = append(drift, driftJSON{Type: "drift", Problem: "unseen_topic", Topic: t.Name,
				Message: fmt.Sprintf("%s is declared but no message or group of it is on the bus", t.Name)})
		}
	}
	for _, u := range uses {
		s := declared.Service(u.Service)
		if s != nil && slices.Contains(s.Topics(catalog.Role(u.Role)), u.Topic) {
			continue
		}
		what := fmt.Sprintf("%s %s %s", u.Service, u.Role, u.Topic)
		why := "the catalog has no service " + u.Service
		if s != nil {
			why = "the catalog does not say so"
		}
		if u.Messages > 0 {
			what += fmt.Sprintf(" (%s seen)", plural(u.Messages, "message"))
		}
		drift = append(drift, driftJSON{Type: "drift", Problem: "undeclared_use", Service: u.Service, Role: u.Role, Topic: u.Topic,
			Message: what + ", but " + why})
	}
	return drift
}

// isLiveGraph reports whether graph's arguments ask for -live.
func isLiveGraph(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "live" && (!hasValue || value == "true" || value == "1") {
			return true
		}
	}
	return false
}
