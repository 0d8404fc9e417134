package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// docStream writes a generated document (a mapping of mappings) as YAML or
// JSON while it is being built, a few entries at a time, and stops once
// the output passes MaxOutputSize.
//
// Building the whole document first and encoding it at the end costs
// memory in proportion to the document, several times over: the YAML
// library's encoder keeps every event of a document until it ends and
// grows that queue by copying. The AsyncAPI document of a service that
// uses 24,000 topics (a catalog within the input limits) took 1.9 GB that
// way. Streaming keeps one piece of about pieceNodes nodes in memory, and
// a document that would be too large is refused as soon as it is.
//
// The output is byte for byte what encoding the whole document gives: a
// YAML piece is encoded nested under placeholder keys, so that it sits at
// the same column as in the whole document (the encoder folds long lines
// by column), and the placeholder lines are dropped; JSON is written
// compact and indented at the end, as before.
type docStream struct {
	json bool
	out  bytes.Buffer
	// levels are the open mappings, the root first; entries go to the
	// last.
	levels []docLevel
	// chunk gathers entries of the innermost mapping until they are worth
	// encoding together; chunkNodes and chunkText count their nodes and
	// the bytes of their keys and values.
	chunk                 []*yaml.Node
	chunkNodes, chunkText int
	err                   error
}

// docLevel is an open mapping of a docStream.
type docLevel struct {
	key *yaml.Node // nil for the root
	// started: its key line (YAML) or its key and "{" (JSON) are written,
	// which happens with its first entry. entries: an entry is written
	// (JSON needs a comma before the next).
	started, entries bool
}

// A piece, the entries the stream encodes at once, holds up to pieceNodes
// nodes and pieceText bytes of text: enough that setting up an encoder per
// piece costs little, little enough that a piece's events take a few
// megabytes and the output passes MaxOutputSize by at most one piece.
const (
	pieceNodes = 5000
	pieceText  = 256 << 10
)

func newDocStream(asJSON bool) *docStream {
	d := &docStream{json: asJSON, levels: []docLevel{{started: true}}}
	if asJSON {
		d.out.WriteByte('{')
	}
	return d
}

// entry adds key: v to the innermost open mapping.
func (d *docStream) entry(key string, v *yaml.Node) {
	nodes, text := nodeSize(v)
	if d.chunkNodes+nodes > pieceNodes || d.chunkText+text > pieceText {
		d.flush()
	}
	d.chunk = append(d.chunk, str(key), v)
	d.chunkNodes += 1 + nodes
	d.chunkText += len(key) + text
}

// begin opens a mapping under key in the innermost open mapping; entries
// go to it until end.
func (d *docStream) begin(key string) {
	d.flush()
	d.levels = append(d.levels, docLevel{key: str(key)})
}

// end closes the innermost mapping begin opened.
func (d *docStream) end() {
	d.flush()
	last := d.levels[len(d.levels)-1]
	d.levels = d.levels[:len(d.levels)-1]
	switch {
	case !last.started:
		// Nothing is written for it yet, not even its key: it is an
		// empty entry of the mapping around it.
		d.chunk = []*yaml.Node{last.key, {Kind: yaml.MappingNode, Tag: "!!map"}}
		d.flush()
	case d.json:
		d.out.WriteByte('}')
	}
}

// bytes closes the document and returns it, or the first error.
func (d *docStream) bytes() ([]byte, error) {
	d.flush()
	if d.err != nil {
		return nil, d.err
	}
	if !d.json {
		return d.out.Bytes(), nil
	}
	d.out.WriteByte('}')
	var indented bytes.Buffer
	if err := json.Indent(&indented, d.out.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	indented.WriteByte('\n')
	return indented.Bytes(), nil
}

// flush writes the gathered entries, after the keys of the open mappings
// that have none written yet.
func (d *docStream) flush() {
	if len(d.chunk) == 0 || d.err != nil {
		d.chunk, d.chunkNodes, d.chunkText = nil, 0, 0
		return
	}
	for depth := 1; depth < len(d.levels); depth++ {
		if !d.levels[depth].started {
			d.writeKey(depth)
		}
	}
	depth := len(d.levels) - 1
	if d.json {
		for i := 0; i+1 < len(d.chunk); i += 2 {
			d.jsonKey(depth, d.chunk[i])
			if err := writeJSON(&d.out, d.chunk[i+1]); err != nil && d.err == nil {
				d.err = err
			}
		}
	} else {
		piece, err := encodeAtDepth(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: d.chunk}, depth)
		if err != nil && d.err == nil {
			d.err = err
		}
		d.out.Write(piece)
		d.levels[depth].entries = true
	}
	d.chunk, d.chunkNodes, d.chunkText = nil, 0, 0
	if d.out.Len() > MaxOutputSize && d.err == nil {
		// Compact JSON is never longer than the indented result, so this
		// refuses only documents that would be too large.
		d.err = errTooLong
	}
}

// errTooLong is reported by docStream once its output passes
// MaxOutputSize; GenerateAsyncAPI turns it into an error naming the
// catalog and the service.
var errTooLong = fmt.Errorf("%w: output past MaxOutputSize", ErrTooLarge)

// writeKey writes the key of the mapping open at depth, as an entry of the
// mapping around it.
func (d *docStream) writeKey(depth int) {
	level := &d.levels[depth]
	level.started = true
	if d.json {
		d.jsonKey(depth-1, level.key)
		d.out.WriteByte('{')
		return
	}
	d.levels[depth-1].entries = true
	// What the encoder writes for the key with an empty value
	// ("  channels: {}"), without the value.
	line, err := encodeAtDepth(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{level.key, {Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}}}, depth-1)
	keyLine, ok := bytes.CutSuffix(line, []byte(" {}\n"))
	if err != nil || !ok || bytes.Count(line, []byte("\n")) != 1 {
		// Only the generators' own short section names are streamed; a
		// key that needs the long form ("? key") would be a bug here.
		d.err = fmt.Errorf("catalog: cannot write the YAML key %q (%v)", level.key.Value, err)
		return
	}
	d.out.Write(keyLine)
	d.out.WriteByte('\n')
}

// jsonKey writes `"key":`, after a comma unless it is the first entry of
// the mapping open at depth.
func (d *docStream) jsonKey(depth int, key *yaml.Node) {
	if d.levels[depth].entries {
		d.out.WriteByte(',')
	}
	d.levels[depth].entries = true
	k, _ := json.Marshal(key.Value)
	d.out.Write(k)
	d.out.WriteByte(':')
}

// encodeAtDepth encodes the mapping m as it appears depth levels deep in a
// document: nested under depth placeholder keys, whose lines it drops.
func encodeAtDepth(m *yaml.Node, depth int) ([]byte, error) {
	doc := m
	for range depth {
		doc = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{str("x"), doc}}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	for range depth {
		_, out, _ = bytes.Cut(out, []byte("\n"))
	}
	return out, nil
}

// nodeSize returns the number of nodes in the tree n and the bytes of
// their values (generated documents have no aliases).
func nodeSize(n *yaml.Node) (nodes, text int) {
	nodes, text = 1, len(n.Value)
	for _, c := range n.Content {
		cn, ct := nodeSize(c)
		nodes, text = nodes+cn, text+ct
	}
	return nodes, text
}
