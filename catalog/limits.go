package catalog

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Size limits. A catalog is read from a file anyone may edit or send in a
// pull request, and YAML aliases (*name) repeat the node they name, so a
// small file can stand for an enormous catalog: a 64 KiB file of nested
// aliases used to keep `choreo lint` busy for minutes and make `choreo gen
// go` write tens of megabytes. Parse therefore bounds both the file and what
// it expands to, and refuses a catalog past a limit with an error matching
// ErrTooLarge that names the limit.
//
// The limits sit above any catalog one team maintains: 1,000 topics with
// ten described fields each make a file of 770 KiB, 67,000 nodes and
// 580 KiB of text. They are not configurable; a system that outgrows them
// is better described by several catalogs.
const (
	// MaxFileSize is the largest catalog file Parse and Load accept, in
	// bytes. The YAML library decodes the whole file into memory before
	// anything can be counted, so this limit alone bounds that step: at
	// 1 MiB the worst case (a file of one-character list items, 500,000
	// nodes) costs about 125 MB and two seconds; at 4 MiB it would cost
	// 500 MB and eight.
	MaxFileSize = 1 << 20
	// MaxNodes is the largest number of YAML nodes (keys, values, list
	// items) a catalog may hold with its aliases expanded.
	MaxNodes = 100_000
	// MaxTextSize is the most text, in bytes, the keys and values of a
	// catalog may hold with its aliases expanded: as much as the largest
	// file, so that aliases cannot make a catalog larger than it could be
	// written out.
	MaxTextSize = MaxFileSize
	// MaxOutputSize is the largest output a generator returns, in bytes.
	// Generated code grows with the catalog (a topic of one line becomes a
	// constant, a struct and a typed topic with comments), so an oversized
	// catalog within the input limits could still ask for a huge file.
	MaxOutputSize = 16 << 20
)

// expansion walks the YAML tree as the parser will see it, following
// aliases, and counts nodes and text until a limit is passed. It stops at
// the first limit passed, so the walk itself costs at most MaxNodes steps
// however much the aliases would expand to.
type expansion struct {
	nodes, text int
	// outer is the outermost alias being expanded: the place in the file
	// where the expansion that passed a limit started.
	outer *yaml.Node
	// path holds the aliased nodes being expanded, to catch an alias that
	// names a node containing it (which would expand forever).
	path    map[*yaml.Node]bool
	aliases bool
}

// checkExpansion reports (and returns false for) a document whose aliases
// refer to themselves or expand past MaxNodes or MaxTextSize.
func (p *parser) checkExpansion(root *yaml.Node) bool {
	e := &expansion{path: map[*yaml.Node]bool{}}
	return e.walk(p, root)
}

func (e *expansion) walk(p *parser, n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		e.aliases = true
		target := n.Alias
		if target == nil {
			return true // yaml reports unknown anchors itself
		}
		if e.path[target] {
			p.limitf(n.Line, n.Column, "alias *%s is inside the node it names, so it would repeat forever; point it at a node outside it", n.Value)
			return false
		}
		if e.outer == nil {
			e.outer = n
			defer func() { e.outer = nil }()
		}
		e.path[target] = true
		defer delete(e.path, target)
		return e.walk(p, target)
	}
	e.nodes++
	e.text += len(n.Value)
	switch {
	case e.nodes > MaxNodes:
		e.report(p, n, fmt.Sprintf("more than %d YAML nodes (keys, values and list items), the limit (MaxNodes)", MaxNodes))
		return false
	case e.text > MaxTextSize:
		e.report(p, n, fmt.Sprintf("more than %s of text in its keys and values, the limit (MaxTextSize)", sizeText(MaxTextSize)))
		return false
	}
	for _, c := range n.Content {
		if !e.walk(p, c) {
			return false
		}
	}
	return true
}

// report says which limit the catalog passed, and where: at the alias
// whose expansion passed it, or at the node that did.
func (e *expansion) report(p *parser, n *yaml.Node, limit string) {
	if e.outer == nil {
		what := "the catalog holds " + limit
		if e.aliases {
			what = "with its aliases expanded, " + what
		}
		p.limitf(n.Line, 0, "%s; no real catalog comes near it, so split the system into several catalogs", what)
		return
	}
	p.limitf(e.outer.Line, e.outer.Column, "with its aliases expanded up to this one (*%s), the catalog holds %s. "+
		"An alias repeats the whole node it names, and the limit keeps a small file from standing for a huge catalog: "+
		"write the repeated parts out, or repeat them fewer times", e.outer.Value, limit)
}

func (p *parser) limitf(line, col int, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{
		File: p.file, Line: line, Column: col, Severity: SeverityError, Rule: RuleLimit,
		Message: fmt.Sprintf(format, args...),
	})
}

// checkFileSize reports a file larger than MaxFileSize.
func (p *parser) checkFileSize(data []byte) bool {
	if len(data) <= MaxFileSize {
		return true
	}
	p.limitf(0, 0, "the file is larger than %s, the limit for a catalog (MaxFileSize), which keeps reading it fast and small; split the system into several catalogs", sizeText(MaxFileSize))
	return false
}

// checkOutputSize returns an error matching ErrTooLarge when generated
// output of n bytes would pass MaxOutputSize.
func checkOutputSize(c *Catalog, what string, n int) error {
	if n <= MaxOutputSize {
		return nil
	}
	return outputTooLarge(c, what, fmt.Sprintf("would be %d bytes, more than %s", n, sizeText(MaxOutputSize)))
}

// outputTooLarge is the error about generated output past MaxOutputSize;
// size says how large it would be.
func outputTooLarge(c *Catalog, what, size string) error {
	return fmt.Errorf("%w: the %s generated from %s %s, the limit (MaxOutputSize); split the system into several catalogs",
		ErrTooLarge, what, escapeUnsafe(c.File, false), size)
}

// sizeText writes a byte count the way the limits are documented: "1 MiB".
func sizeText(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
