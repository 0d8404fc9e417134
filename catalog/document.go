package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The generators build documents as yaml.Node trees: unlike Go maps, a
// node tree keeps keys in the order they were added, so the YAML and JSON
// written from it are stable and read in a sensible order.

// obj builds a mapping node from key/value pairs. Values may be *yaml.Node,
// string, int, bool or []string; a nil *yaml.Node value drops the pair,
// which keeps optional keys simple to express.
func obj(pairs ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := value(pairs[i+1])
		if v == nil {
			continue
		}
		n.Content = append(n.Content, str(pairs[i].(string)), v)
	}
	return n
}

// set appends key: v to the mapping m (v as in obj).
func set(m *yaml.Node, key string, v any) {
	if vn := value(v); vn != nil {
		m.Content = append(m.Content, str(key), vn)
	}
}

func value(v any) *yaml.Node {
	switch v := v.(type) {
	case *yaml.Node:
		return v
	case string:
		return str(v)
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	case []string:
		return strs(v...)
	default:
		panic(fmt.Sprintf("catalog: unsupported document value %T", v))
	}
}

// str builds a string node. Every string of a generated document passes
// through here, so this is where characters catalog text must not hold
// (which Parse and Lint reject, but a Catalog built by hand may carry) are
// turned into visible escapes: a document never contains one.
func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: escapeUnsafe(s, true)}
}

func strs(ss ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, s := range ss {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// ref builds a Reference Object.
func ref(pointer string) *yaml.Node { return obj("$ref", pointer) }

// writeJSON writes n as compact JSON, keys in node order.
func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!bool", "!!float":
			buf.WriteString(n.Value)
		case "!!null":
			buf.WriteString("null")
		default:
			s, _ := json.Marshal(n.Value)
			buf.Write(s)
		}
	default:
		return fmt.Errorf("catalog: cannot write YAML node kind %d as JSON", n.Kind)
	}
	return nil
}
