package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/choreo-bus/choreo/topic"
)

// Parse parses a catalog from data; file names it in diagnostics.
//
// Parse checks the shape of the file: its size and what its aliases expand
// to (see MaxFileSize), its characters (no control, bidirectional or
// line-separator characters: see RuleCharacter), YAML syntax, known keys,
// the format version, value kinds and duplicate keys. It returns an error matching
// ErrInvalid that lists every such problem as "file:line: message". Rules
// about the content (topic grammar, tense, field types, who handles what)
// are checked by Lint and by the generators, so a catalog with, say, a
// misspelled field type still parses and can be linted as a whole.
func Parse(file string, data []byte) (*Catalog, error) {
	p := &parser{file: file}
	c := p.parse(data)
	if err := errorsOf(p.diags); err != nil {
		return nil, err
	}
	return c, nil
}

// parser collects diagnostics while walking the YAML node tree, so that one
// run reports every shape problem instead of only the first.
type parser struct {
	file  string
	diags []Diagnostic
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{
		File: p.file, Line: line, Severity: SeverityError, Rule: RuleSyntax,
		Message: fmt.Sprintf(format, args...),
	})
}

// yamlLine finds the line number in yaml's "yaml: line N: ..." messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) yamlError(err error) {
	for _, msg := range strings.Split(err.Error(), "\n") {
		msg = strings.TrimSpace(msg)
		if msg == "" || msg == "yaml: unmarshal errors:" {
			continue
		}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			p.errorf(line, "not valid YAML: %s", m[2])
			continue
		}
		p.errorf(0, "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
	}
}

func (p *parser) parse(data []byte) *Catalog {
	if !p.checkFileSize(data) || !p.scanText(data) {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 {
		p.errorf(0, "the file is empty; a catalog needs at least `version: %d` and a `topics:` section", FormatVersion)
		return nil
	}
	if !p.checkExpansion(doc.Content[0]) {
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		p.errorf(root.Line, "the top level must be a mapping with the keys version, package, topics and services")
		return nil
	}
	c := &Catalog{File: p.file}
	var sawVersion, sawTopics bool
	p.entries(root, "the top level", func(k, v *yaml.Node) {
		switch k.Value {
		case "version":
			sawVersion = true
			p.version(c, v)
		case "package":
			c.PackageLine = k.Line
			c.Package, _ = p.scalar(v, "package")
		case "topics":
			sawTopics = true
			p.topics(c, v)
		case "services":
			c.HasServices = true
			p.services(c, v)
		default:
			p.unknownKey(k, "the top level", "version", "package", "topics", "services")
		}
	})
	if !sawVersion {
		p.errorf(root.Line, "version: missing; start the file with `version: %d`", FormatVersion)
	}
	if !sawTopics {
		p.errorf(root.Line, "topics: missing; declare at least one topic under `topics:`")
	}
	sort.Slice(c.Topics, func(i, j int) bool { return c.Topics[i].Name < c.Topics[j].Name })
	sort.Slice(c.Services, func(i, j int) bool { return c.Services[i].Name < c.Services[j].Name })
	return c
}

func (p *parser) version(c *Catalog, v *yaml.Node) {
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || err != nil {
		p.errorf(v.Line, "version: %q is not a number; write `version: %d`", v.Value, FormatVersion)
		return
	}
	if n != FormatVersion {
		p.errorf(v.Line, "version: catalog format %d is not supported by this choreo, which reads format %d", n, FormatVersion)
		return
	}
	c.Version = n
}

func (p *parser) topics(c *Catalog, v *yaml.Node) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v.Line, "topics: expected a mapping from topic name to its definition, e.g. `v1.user.signup: {description: ...}`")
		return
	}
	p.entries(v, "topics", func(k, v *yaml.Node) {
		if t := p.topic(k, v); t != nil {
			c.Topics = append(c.Topics, t)
		}
	})
}

func (p *parser) topic(k, v *yaml.Node) *Topic {
	t := &Topic{Name: k.Value, Line: k.Line}
	t.parsed, t.parseErr = topic.Parse(t.Name)
	where := "topic " + t.Name
	if !isNull(v) && v.Kind != yaml.MappingNode {
		p.errorf(v.Line, "%s: expected a mapping with the keys kind, description, payload, type or skip_tense_check", where)
		return t
	}
	if !isNull(v) {
		p.entries(v, where, func(k, v *yaml.Node) {
			switch k.Value {
			case "kind":
				t.KindLine = k.Line
				p.kind(t, v, where)
			case "description":
				t.Description, _ = p.text(v, where+": description")
			case "payload":
				t.PayloadLine = k.Line
				t.Fields = p.fields(v, where)
			case "skip_tense_check":
				if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
					p.errorf(v.Line, "%s: skip_tense_check: %q is not true or false", where, v.Value)
					return
				}
				t.SkipTenseCheck = v.Value == "true"
			case "type":
				t.GoTypeLine = k.Line
				var ok bool
				t.GoType, ok = p.scalar(v, where+": type")
				if ok && t.GoType == "" {
					p.errorf(v.Line, "%s: type: empty; write an existing Go type such as example.com/mod/pkg.Name, or remove the key", where)
				}
			default:
				p.unknownKey(k, where, "kind", "description", "payload", "type", "skip_tense_check")
			}
		})
	}
	if t.PayloadLine > 0 && t.GoTypeLine > 0 {
		p.errorf(t.GoTypeLine, "%s: has both payload and type; use payload to generate a struct or type to reuse an existing Go type, not both", where)
	}
	if !t.KindDeclared && t.parseErr == nil {
		if kind, ok := topic.InferKind(t.parsed); ok {
			t.Kind = kind
		}
	}
	return t
}

func (p *parser) kind(t *Topic, v *yaml.Node, where string) {
	s, ok := p.scalar(v, where+": kind")
	if !ok {
		return
	}
	switch s {
	case "command":
		t.Kind, t.KindDeclared = topic.KindCommand, true
	case "event":
		t.Kind, t.KindDeclared = topic.KindEvent, true
	default:
		p.errorf(v.Line, "%s: kind %q is not valid; write command or event", where, s)
	}
}

func (p *parser) fields(v *yaml.Node, where string) []*Field {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v.Line, "%s: payload: expected a mapping from field name to type, e.g. `email: string`", where)
		return nil
	}
	var fields []*Field
	p.entries(v, where+": payload", func(k, v *yaml.Node) {
		f := &Field{Name: k.Value, Line: k.Line}
		fwhere := fmt.Sprintf("%s: field %s", where, f.Name)
		typeOK := true // false once the type is reported as unreadable
		switch {
		case v.Kind == yaml.MappingNode:
			p.entries(v, fwhere, func(k, v *yaml.Node) {
				switch k.Value {
				case "type":
					f.Type, typeOK = p.scalar(v, fwhere+": type")
				case "description":
					f.Description, _ = p.text(v, fwhere+": description")
				default:
					p.unknownKey(k, fwhere, "type", "description")
				}
			})
		case v.Kind == yaml.ScalarNode && !isNull(v):
			f.Type, typeOK = p.scalar(v, fwhere)
		case isNull(v):
		default:
			p.errorf(v.Line, "%s: expected a type such as string, or a mapping with type and description", fwhere)
			return
		}
		if !typeOK {
			return
		}
		if f.Type == "" {
			p.errorf(k.Line, "%s: missing type; write for example `%s: string`", fwhere, f.Name)
			return
		}
		f.typ, f.typeErr = parseFieldType(f.Type)
		fields = append(fields, f)
	})
	return fields
}

func (p *parser) services(c *Catalog, v *yaml.Node) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v.Line, "services: expected a mapping from service name to its topics, e.g. `accounts: {handles: [v1.user.signup]}`")
		return
	}
	p.entries(v, "services", func(k, v *yaml.Node) {
		c.Services = append(c.Services, p.service(k, v))
	})
}

func (p *parser) service(k, v *yaml.Node) *Service {
	s := &Service{Name: k.Value, Line: k.Line}
	where := "service " + s.Name
	if isNull(v) {
		return s
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v.Line, "%s: expected a mapping with the keys sends, handles, publishes, subscribes, inbox or description", where)
		return s
	}
	byRole := map[Role][]Use{}
	p.entries(v, where, func(k, v *yaml.Node) {
		r := Role(k.Value)
		switch r {
		case RoleSends, RoleHandles, RolePublishes, RoleSubscribes:
			byRole[r] = p.uses(r, v, where)
		default:
			switch k.Value {
			case "description":
				s.Description, _ = p.text(v, where+": description")
				return
			case "inbox":
				if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
					p.errorf(v.Line, "%s: inbox: %q is not true or false", where, v.Value)
					return
				}
				s.Inbox, s.InboxLine = v.Value == "true", k.Line
				return
			}
			p.unknownKey(k, where, "sends", "handles", "publishes", "subscribes", "description", "inbox")
		}
	})
	for _, r := range roles {
		s.Uses = append(s.Uses, byRole[r]...)
	}
	return s
}

func (p *parser) uses(r Role, v *yaml.Node, where string) []Use {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v.Line, "%s: %s: expected a list of topic names, e.g. `%s: [v1.user.signup]`", where, r, r)
		return nil
	}
	var uses []Use
	for _, item := range v.Content {
		item = resolve(item)
		name, ok := p.scalar(item, fmt.Sprintf("%s: %s", where, r))
		if !ok {
			continue
		}
		uses = append(uses, Use{Role: r, Topic: name, Line: item.Line})
	}
	return uses
}

// entries calls fn for each key/value pair of the mapping m, reporting keys
// that are not plain scalars and keys given twice.
func (p *parser) entries(m *yaml.Node, where string, fn func(k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			p.errorf(k.Line, "%s: keys must be plain names", where)
			continue
		}
		if !p.checkText(k, where+": key", false) {
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k.Line, "%s: key %q is given twice (first at line %d); merge the two", where, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// scalar returns v's text, a value on one line; it reports an error when v
// is a list or mapping or holds a character a name cannot (a line break,
// a control or bidirectional character). A null value is the empty string.
func (p *parser) scalar(v *yaml.Node, where string) (string, bool) {
	return p.value(v, where, false)
}

// text is scalar for free text, which may span lines and hold tabs.
func (p *parser) text(v *yaml.Node, where string) (string, bool) {
	return p.value(v, where, true)
}

func (p *parser) value(v *yaml.Node, where string, multiline bool) (string, bool) {
	if isNull(v) {
		return "", true
	}
	if v.Kind != yaml.ScalarNode {
		p.errorf(v.Line, "%s: expected a single value, not a list or mapping", where)
		return "", false
	}
	if !p.checkText(v, where, multiline) {
		return "", false
	}
	return v.Value, true
}

func (p *parser) unknownKey(k *yaml.Node, where string, known ...string) {
	hint := ""
	if s := suggest(k.Value, known); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	p.errorf(k.Line, "%s: unknown key %q%s; expected %s", where, k.Value, hint, orList(known))
}

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// orList formats ["a","b","c"] as "a, b or c".
func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
