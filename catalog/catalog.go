package catalog

import (
	"fmt"
	"io"
	"os"

	"github.com/choreo-bus/choreo/topic"
)

// FormatVersion is the only catalog format version this package reads
// (the catalog's top-level "version" key).
const FormatVersion = 1

// DefaultPackage is the Go package name of generated code when neither the
// catalog's "package" key nor an explicit option names one.
const DefaultPackage = "topics"

// Catalog is a parsed catalog file. Parse and Load return it; the generators
// and Lint read it. A Catalog is not modified after parsing, so it is safe to
// share between goroutines.
type Catalog struct {
	// File is the name the catalog was loaded from; every Diagnostic about
	// it carries this name.
	File string
	// Version is the catalog format version (always FormatVersion).
	Version int
	// Package is the Go package name for generated code ("" when the
	// catalog does not set one).
	Package string
	// PackageLine is the line of the "package" key, 0 when absent.
	PackageLine int
	// Topics are the declared topics, sorted by name.
	Topics []*Topic
	// Services are the declared services, sorted by name.
	Services []*Service
	// HasServices reports whether the catalog has a "services" section.
	// Rules about who handles and who subscribes apply only then.
	HasServices bool
}

// Topic is one entry under "topics".
type Topic struct {
	// Name is the topic name as written, e.g. "v1.user.signup".
	Name string
	// Line is the line of the topic's key.
	Line int
	// Kind is the declared kind or, when none is declared, the kind inferred
	// from the verb's tense (topic.InferKind: guessed from the spelling for
	// a verb the tense rules do not know). It is 0 when the name does not
	// parse or the verb reads the same in both tenses and no kind is
	// declared.
	Kind topic.Kind
	// KindDeclared reports whether the catalog says "kind:" explicitly.
	KindDeclared bool
	// KindLine is the line of the "kind" key, 0 when absent.
	KindLine int
	// SkipTenseCheck is the "skip_tense_check" key: the verb's tense is
	// not checked against the declared kind. It lets a known verb the tense
	// rules misread through (v1.app.startup, a noun, as an event; the
	// generated topic then passes topic.SkipTenseCheck()), and it vouches
	// for a word the rules do not know (v1.build.green, a state), which
	// silences lint's warning.
	SkipTenseCheck bool
	// Description is the free text of the "description" key.
	Description string
	// Fields are the payload fields in the order they appear in the file.
	Fields []*Field
	// PayloadLine is the line of the "payload" key, 0 when absent.
	PayloadLine int
	// GoType is the value of the "type" key: an existing Go type used as
	// payload instead of a generated struct, written "import/path.Name"
	// (or "Name" for a type in the generated package itself).
	GoType string
	// GoTypeLine is the line of the "type" key, 0 when absent.
	GoTypeLine int

	parsed   topic.Name
	parseErr error
}

// Parsed returns the topic name parsed by topic.Parse, or the error that
// parsing reported.
func (t *Topic) Parsed() (topic.Name, error) { return t.parsed, t.parseErr }

// Field is one payload field of a topic.
type Field struct {
	// Name is the YAML key, used verbatim as the JSON name.
	Name string
	// Line is the line of the field's key.
	Line int
	// Type is the field type as written, e.g. "string", "[]int64", "time?".
	Type string
	// Description is the field's optional description.
	Description string

	typ     fieldType
	typeErr error
}

// Role is how a service takes part in a topic: the keys under each service.
type Role string

// The roles a service can have. A command is sent by any number of
// services and handled by exactly one; an event is published by one or more
// services and subscribed to by any number.
const (
	// RoleSends: the service sends the command (bus.Send).
	RoleSends Role = "sends"
	// RoleHandles: the service handles the command (bus.HandleCommand).
	RoleHandles Role = "handles"
	// RolePublishes: the service publishes the event (bus.Publish).
	RolePublishes Role = "publishes"
	// RoleSubscribes: the service subscribes to the event (bus.Subscribe).
	RoleSubscribes Role = "subscribes"
)

// roles lists the roles in the order they are read, written and drawn.
var roles = [...]Role{RoleSends, RoleHandles, RolePublishes, RoleSubscribes}

// kindOf returns the topic kind a role applies to.
func (r Role) kindOf() topic.Kind {
	if r == RoleSends || r == RoleHandles {
		return topic.KindCommand
	}
	return topic.KindEvent
}

// Service is one entry under "services".
type Service struct {
	// Name is the service name (also its CloudEvents source and consumer
	// group name at run time).
	Name string
	// Line is the line of the service's key.
	Line int
	// Description is the service's optional description.
	Description string
	// Uses lists the topics the service takes part in: by role in the order
	// sends, handles, publishes, subscribes, and within a role in file order.
	Uses []Use
	// Inbox is the "inbox" key: the service keeps an idempotency inbox in
	// the key-value bucket topic.InboxBucket(namespace, Name), which
	// `choreo provision` creates and `choreo gen permissions` grants it.
	Inbox bool
	// InboxLine is the line of the "inbox" key, 0 when absent.
	InboxLine int
}

// Use is one topic listed under a service's role.
type Use struct {
	// Role is the key the topic is listed under.
	Role Role
	// Topic is the topic name as written in the list.
	Topic string
	// Line is the line of the list entry.
	Line int
}

// Topics returns the names of the topics s lists under role r, in file
// order.
func (s *Service) Topics(r Role) []string {
	var names []string
	for _, u := range s.Uses {
		if u.Role == r {
			names = append(names, u.Topic)
		}
	}
	return names
}

// Topic returns the topic with the given name, or nil.
func (c *Catalog) Topic(name string) *Topic {
	for _, t := range c.Topics {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Service returns the service with the given name, or nil.
func (c *Catalog) Service(name string) *Service {
	for _, s := range c.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Load reads and parses the catalog file at path. See Parse. It reads at
// most one byte more than MaxFileSize, so naming a huge file or a device
// that never ends (/dev/zero) gives the size error instead of exhausting
// memory.
func Load(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return Parse(path, data)
}
