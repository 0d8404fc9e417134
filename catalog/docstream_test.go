package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// wholeYAML and wholeJSON encode a document in one go, the way docStream
// must match byte for byte.
func wholeYAML(t *testing.T, doc *yaml.Node) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	require.NoError(t, enc.Encode(doc))
	require.NoError(t, enc.Close())
	return buf.String()
}

func wholeJSON(t *testing.T, doc *yaml.Node) string {
	var compact, out bytes.Buffer
	require.NoError(t, writeJSON(&compact, doc))
	require.NoError(t, json.Indent(&out, compact.Bytes(), "", "  "))
	return out.String() + "\n"
}

// sections are the keys whose mappings stream writes entry by entry, as
// GenerateAsyncAPI does.
var sections = map[string]bool{"channels": true, "operations": true, "components": true, "messages": true, "schemas": true}

// stream writes doc through a docStream, opening a streamed mapping for
// the values of sections.
func stream(t *testing.T, doc *yaml.Node, asJSON bool) string {
	d := newDocStream(asJSON)
	var walk func(m *yaml.Node)
	walk = func(m *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if sections[k.Value] && v.Kind == yaml.MappingNode {
				d.begin(k.Value)
				walk(v)
				d.end()
				continue
			}
			d.entry(k.Value, v)
		}
	}
	walk(doc)
	out, err := d.bytes()
	require.NoError(t, err)
	return string(out)
}

func TestDocStreamMatchesWholeEncoding(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40) // folded at 80 columns
	// Enough text for several pieces, some keys too long for the short
	// form ("? key").
	many := obj()
	for i := range 240 {
		key, text := fmt.Sprintf("entry%d", i), long
		if i%10 == 0 {
			text = strings.Repeat(long, 70)
		}
		if i%50 == 0 {
			key += strings.Repeat("k", 200)
		}
		set(many, key, obj("description", text, "n", i))
	}
	docs := map[string]*yaml.Node{
		"flat":           obj("a", "1", "b", 2, "c", true),
		"empty sections": obj("a", "x", "channels", obj(), "components", obj("messages", obj(), "schemas", obj("X", obj()))),
		"long text and keys": obj("info", obj("description", long+"\n\n  indented\nlast"),
			"channels", obj(strings.Repeat("K", 200), obj("title", long), "short", obj("list", []string{"a", "b"}))),
		"many entries": obj("head", "h", "channels", many, "components", obj("schemas", many)),
	}
	for name, doc := range docs {
		assert.Equal(t, wholeYAML(t, doc), stream(t, doc, false), name)
		assert.Equal(t, wholeJSON(t, doc), stream(t, doc, true), name)
	}
}

func TestDocStreamStopsPastTheLimit(t *testing.T) {
	t.Parallel()
	d := newDocStream(true) // JSON: the check is the same, and quicker to reach
	d.begin("channels")
	text := strings.Repeat("x", 1<<20)
	for i := range 40 {
		d.entry("k"+strings.Repeat("i", i), obj("description", text))
	}
	d.end()
	_, err := d.bytes()
	assert.True(t, errors.Is(err, ErrTooLarge))
	assert.LessOrEqual(t, d.out.Len(), MaxOutputSize+2*(1<<20), "stopped within a piece of the limit")
}

func TestCheckOutputSize(t *testing.T) {
	t.Parallel()
	c := &Catalog{File: "big.yaml"}
	assert.NoError(t, checkOutputSize(c, "Go code", MaxOutputSize))
	err := checkOutputSize(c, "Go code", MaxOutputSize+1)
	assert.True(t, errors.Is(err, ErrTooLarge))
	assert.EqualError(t, err, `catalog too large: the Go code generated from big.yaml would be 16777217 bytes, more than 16 MiB, the limit (MaxOutputSize); split the system into several catalogs`)
}
