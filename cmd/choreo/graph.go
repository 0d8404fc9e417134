package main

import (
	"flag"
	"fmt"

	"github.com/choreo-bus/choreo/catalog"
)

const graphHelp = `
Usage: choreo graph [-catalog FILE] [-format mermaid|dot] [-out FILE]

Draws who talks to whom: services as rounded boxes, commands as
parallelograms, events as stadiums (Mermaid) or ellipses (Graphviz), and
an edge per use labelled sends, handles, publishes or subscribes, in the
direction messages flow. Command traffic is drawn solid, event traffic
dashed. The output is stable, so it can be committed and diffed.

Examples:

	choreo graph -catalog catalog.yaml > graph.mmd      # paste into a ` + "```mermaid" + ` block
	choreo graph -catalog catalog.yaml -format dot | dot -Tsvg > graph.svg
`

func (c *cli) graph(args []string) int {
	const cmd = "choreo graph"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	path := catalogFlag(fs)
	format := fs.String("format", string(catalog.GraphMermaid), "graph `language`: mermaid or dot")
	out := fs.String("out", "", "`file` to write (default: standard output)")
	if code, ok := c.parse(fs, graphHelp, args); !ok {
		return code
	}
	f := catalog.GraphFormat(*format)
	if f != catalog.GraphMermaid && f != catalog.GraphDot {
		c.usageError(cmd, fmt.Sprintf("-format %q: use mermaid or dot", *format))
		return exitUsage
	}
	if reason := checkOut(*path, *out); reason != "" {
		c.usageError(cmd, reason)
		return exitUsage
	}
	cat, ok := c.load(cmd, *path)
	if !ok {
		return exitFail
	}
	g, err := catalog.GenerateGraph(cat, f)
	if err != nil {
		c.reportError(cmd, err)
		return exitFail
	}
	if err := c.writeOutput(*out, g); err != nil {
		return c.failf(cmd, "%v", err)
	}
	return exitOK
}
