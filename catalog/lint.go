package catalog

import (
	"fmt"
	"go/token"
	"sort"
	"strings"

	"github.com/choreo-bus/choreo/topic"
)

// Rule names a check. Every Diagnostic carries the rule that produced it.
type Rule string

// The rules. Errors unless marked as warnings.
const (
	// RuleSyntax: the file is not a well-formed catalog (YAML syntax,
	// unknown or duplicate keys, wrong value kinds, format version).
	RuleSyntax Rule = "syntax"
	// RuleLimit: the file, or what its aliases expand to, is past a size
	// limit (MaxFileSize, MaxNodes, MaxTextSize). Errors under this rule
	// also match ErrTooLarge.
	RuleLimit Rule = "limit"
	// RuleCharacter: the file or one of its strings holds a character that
	// catalog text must not hold: a control character (other than tab and
	// line feed in descriptions), a bidirectional control (Trojan Source),
	// a line or paragraph separator, a byte-order mark past the start of
	// the file, or bytes that are not UTF-8.
	RuleCharacter Rule = "character"
	// RuleGrammar: a topic name breaks the grammar of topic.Parse.
	RuleGrammar Rule = "grammar"
	// RuleKind: the verb reads the same in both tenses (reset, put) and the
	// topic does not declare its kind.
	RuleKind Rule = "kind"
	// RuleTense: the declared kind contradicts the tense of a verb the
	// tense rules know (a command named in the past tense, an event in the
	// present: topic.CheckTense rejects those at run time too) and the topic
	// does not say skip_tense_check: true. Warnings under the same rule: a
	// verb the rules do not know (topic.TenseOf is TenseUnknown: "low",
	// "overdue"), which they cannot check, unless the topic says
	// skip_tense_check: true; and a skip_tense_check that is not needed.
	RuleTense Rule = "tense"
	// RuleFieldType: a payload field has a type that does not exist.
	RuleFieldType Rule = "field-type"
	// RuleFieldName: a field key cannot become a Go name, or two fields
	// become the same Go name (user_id and userId are both UserID).
	RuleFieldName Rule = "field-name"
	// RuleGoType: a topic's "type" is not a Go type reference.
	RuleGoType Rule = "go-type"
	// RuleGoName: two topics generate the same Go identifier.
	RuleGoName Rule = "go-name"
	// RulePackage: the "package" value is not a Go package name.
	RulePackage Rule = "package"
	// RuleServiceName: a service name is not a plain name.
	RuleServiceName Rule = "service-name"
	// RuleUndeclared: a service lists a topic that is not declared.
	RuleUndeclared Rule = "undeclared-topic"
	// RuleRole: a service lists a topic under a role of the other kind
	// (handles an event, publishes a command, ...).
	RuleRole Rule = "role"
	// RuleHandlers: a command is handled by no service or by more than
	// one. Checked only when the catalog has a services section.
	RuleHandlers Rule = "handlers"
	// RuleDuplicateUse (warning): a service lists a topic twice under the
	// same role.
	RuleDuplicateUse Rule = "duplicate-use"
	// RuleNoSubscriber (warning): an event nobody subscribes to. Checked
	// only when the catalog has a services section.
	RuleNoSubscriber Rule = "no-subscriber"
	// RuleNoPublisher (warning): an event nobody publishes. Checked only
	// when the catalog has a services section.
	RuleNoPublisher Rule = "no-publisher"
	// RuleVersionGap (warning): a topic exists in versions with a gap
	// between them (v1 and v3 but no v2).
	RuleVersionGap Rule = "version-gap"
	// RuleBreaking: compared with an older catalog, a topic version changed
	// incompatibly (field removed, renamed or retyped, kind or type changed).
	RuleBreaking Rule = "breaking"
	// RuleRemovedTopic (warning): compared with an older catalog, a topic
	// is gone.
	RuleRemovedTopic Rule = "removed-topic"
	// RuleWidened (warning): compared with an older catalog, a service
	// publishes an event of an entity that other services already publish
	// events of: its NATS permissions (choreo gen permissions) widen to
	// speaking for another service's entity, which a reviewer should see.
	RuleWidened Rule = "widened-permissions"
	// RuleAddedRequired (warning): compared with an older catalog, an
	// existing topic version gained a required field.
	RuleAddedRequired Rule = "added-required"
)

// Lint checks every rule on c and returns the findings, errors and
// warnings, sorted by line. It never modifies c.
func Lint(c *Catalog) []Diagnostic {
	l := newLinter(c)
	l.definitions()
	l.services()
	l.versionGaps()
	sortDiagnostics(l.diags)
	return l.diags
}

// Validate checks the rules the Go generator depends on (topic grammar,
// kind and tense, field types and names, type references, Go name
// collisions, package name) and returns an error matching ErrInvalid that
// lists the violations, or nil. Rules about services are left to Lint.
func Validate(c *Catalog) error {
	l := newLinter(c)
	l.definitions()
	return errorsOf(l.diags)
}

type linter struct {
	c     *Catalog
	diags []Diagnostic
	// topics indexes c.Topics by name, and names lists them: services
	// look topics up once per use, which must not cost a scan each.
	topics map[string]*Topic
	names  []string
	// hints remembers the "did you mean" answer per undeclared name, and
	// hintBudget is how many more names may be looked up: each lookup
	// compares the name with every topic, and a few hints are all a
	// reader uses.
	hints      map[string]string
	hintBudget int
}

// maxHintLookups bounds the topic names Lint finds a "did you mean" for.
const maxHintLookups = 50

func newLinter(c *Catalog) *linter {
	l := &linter{c: c, topics: make(map[string]*Topic, len(c.Topics)), hints: map[string]string{}, hintBudget: maxHintLookups}
	for _, t := range c.Topics {
		if _, dup := l.topics[t.Name]; !dup {
			l.topics[t.Name] = t
		}
		l.names = append(l.names, t.Name)
	}
	return l
}

// hint returns a declared topic name that name is probably a typo of, or "".
func (l *linter) hint(name string) string {
	if h, ok := l.hints[name]; ok {
		return h
	}
	if l.hintBudget == 0 {
		return ""
	}
	l.hintBudget--
	h := suggest(name, l.names)
	l.hints[name] = h
	return h
}

func (l *linter) report(sev Severity, rule Rule, line int, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{
		File: l.c.File, Line: line, Severity: sev, Rule: rule,
		Message: fmt.Sprintf(format, args...),
	})
}

func (l *linter) errorf(rule Rule, line int, format string, args ...any) {
	l.report(SeverityError, rule, line, format, args...)
}

func (l *linter) warnf(rule Rule, line int, format string, args ...any) {
	l.report(SeverityWarning, rule, line, format, args...)
}

// definitions checks what the topics themselves say.
func (l *linter) definitions() {
	l.characters()
	if p := l.c.Package; p != "" && !isPackageName(p) {
		l.errorf(RulePackage, l.c.PackageLine, "package %q is not a Go package name; use an identifier such as topics", p)
	}
	for _, t := range l.c.Topics {
		l.topicName(t)
		l.fields(t)
		if t.GoType != "" {
			if _, _, err := parseGoTypeRef(t.GoType); err != nil {
				l.errorf(RuleGoType, t.GoTypeLine, "topic %s: type: %v", t.Name, err)
			}
		}
	}
	l.goNames()
}

func (l *linter) fields(t *Topic) {
	byGoName := map[string]*Field{}
	for _, f := range t.Fields {
		if f.typeErr != nil {
			l.errorf(RuleFieldType, f.Line, "topic %s: field %s: %v", t.Name, f.Name, f.typeErr)
		}
		g := goFieldName(f.Name)
		if g == "" {
			l.errorf(RuleFieldName, f.Line, "topic %s: field %q cannot become a Go field name; use a letter followed by letters, digits, _ or - (e.g. user_id)", t.Name, f.Name)
			continue
		}
		if prev, dup := byGoName[g]; dup {
			l.errorf(RuleFieldName, f.Line, "topic %s: fields %s (line %d) and %s both become the Go field %s; rename one of them", t.Name, prev.Name, prev.Line, f.Name, g)
			continue
		}
		byGoName[g] = f
	}
}

// goNames reports generated identifiers that two topics would both declare.
func (l *linter) goNames() {
	owner := map[string]*Topic{}
	for _, t := range l.c.Topics {
		if t.parseErr != nil {
			continue
		}
		names := []string{t.ConstName()}
		if t.GoType == "" {
			names = append(names, t.StructName())
		}
		if t.Kind != 0 {
			names = append(names, t.VarName())
		}
		for _, n := range names {
			if prev, dup := owner[n]; dup && prev != t {
				l.errorf(RuleGoName, t.Line, "topic %s: generates the Go name %s, which topic %s (line %d) generates too; rename one of them", t.Name, n, prev.Name, prev.Line)
				continue
			}
			owner[n] = t
		}
	}
}

// services checks who sends, handles, publishes and subscribes.
func (l *linter) services() {
	l.serviceCharacters()
	users := map[string]map[Role][]*Service{}
	for _, s := range l.c.Services {
		if !isServiceName(s.Name) {
			l.errorf(RuleServiceName, s.Line, "service %q: a service name starts with a letter and holds only letters, digits, - and _", s.Name)
		}
		seen := map[Use]bool{}
		for _, u := range s.Uses {
			key := Use{Role: u.Role, Topic: u.Topic}
			if seen[key] {
				l.warnf(RuleDuplicateUse, u.Line, "service %s: %s lists %s twice", s.Name, u.Role, u.Topic)
				continue
			}
			seen[key] = true
			t := l.topics[u.Topic]
			if t == nil {
				hint := ""
				if near := l.hint(u.Topic); near != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", near)
				}
				l.errorf(RuleUndeclared, u.Line, "service %s: %s %s, which is not declared under topics%s", s.Name, u.Role, u.Topic, hint)
				continue
			}
			if t.Kind != 0 && u.Role.kindOf() != t.Kind {
				l.errorf(RuleRole, u.Line, "service %s: %s %s, which is %s; use %s instead", s.Name, u.Role, u.Topic, an(kindName(t.Kind)), counterpart(u.Role))
				continue
			}
			if users[u.Topic] == nil {
				users[u.Topic] = map[Role][]*Service{}
			}
			users[u.Topic][u.Role] = append(users[u.Topic][u.Role], s)
		}
	}
	if !l.c.HasServices {
		return
	}
	for _, t := range l.c.Topics {
		by := users[t.Name]
		switch t.Kind {
		case topic.KindCommand:
			handlers := by[RoleHandles]
			switch {
			case len(handlers) == 0:
				l.errorf(RuleHandlers, t.Line, "command %s is handled by no service; list it under `handles:` of the one service that carries it out", t.Name)
			case len(handlers) > 1:
				l.errorf(RuleHandlers, t.Line, "command %s is handled by %d services (%s); a command has exactly one handler, so let the others subscribe to the event it leads to", t.Name, len(handlers), serviceNames(handlers))
			}
		case topic.KindEvent:
			if len(by[RolePublishes]) == 0 {
				l.warnf(RuleNoPublisher, t.Line, "event %s is published by no service; list it under `publishes:` of the service that makes it happen", t.Name)
			}
			if len(by[RoleSubscribes]) == 0 {
				l.warnf(RuleNoSubscriber, t.Line, "event %s has no subscribers; list it under `subscribes:` of a service or remove it", t.Name)
			}
		}
	}
}

// versionGaps warns when a topic skips versions between its lowest and
// highest (starting above v1 is fine: old versions get retired).
func (l *linter) versionGaps() {
	versions := map[string][]*Topic{}
	for _, t := range l.c.Topics {
		if t.parseErr == nil {
			versions[unversioned(t.Name)] = append(versions[unversioned(t.Name)], t)
		}
	}
	for rest, ts := range versions {
		sort.Slice(ts, func(i, j int) bool { return ts[i].parsed.Version < ts[j].parsed.Version })
		for i := 1; i < len(ts); i++ {
			prev, cur := ts[i-1].parsed.Version, ts[i].parsed.Version
			if cur-prev <= 1 {
				continue
			}
			l.warnf(RuleVersionGap, ts[i].Line, "topic %s: version gap: %s missing between v%d and v%d", ts[i].Name, missingVersions(rest, prev, cur), prev, cur)
		}
	}
}

// missingVersions names the versions strictly between prev and cur. A gap
// can be nearly a billion versions wide (v1 and v999999999), so past three
// it names the first and the last and counts the rest.
func missingVersions(rest string, prev, cur int) string {
	if cur-prev-1 > 3 {
		return fmt.Sprintf("v%d.%s to v%d.%s (%d versions)", prev+1, rest, cur-1, rest, cur-prev-1)
	}
	var missing []string
	for v := prev + 1; v < cur; v++ {
		missing = append(missing, fmt.Sprintf("v%d.%s", v, rest))
	}
	return strings.Join(missing, ", ")
}

// unversioned strips the version segment: "v1.user.signup" -> "user.signup".
func unversioned(name string) string {
	_, rest, _ := strings.Cut(name, ".")
	return rest
}

// counterpart names the role that fits the other kind of topic.
func counterpart(r Role) Role {
	switch r {
	case RoleSends:
		return RolePublishes
	case RoleHandles:
		return RoleSubscribes
	case RolePublishes:
		return RoleSends
	default:
		return RoleHandles
	}
}

func serviceNames(ss []*Service) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// an prefixes a noun with its indefinite article.
func an(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func isPackageName(s string) bool {
	return token.IsIdentifier(s) && s != "_"
}

func isServiceName(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '-' && r != '_' {
			return false
		}
	}
	return s != ""
}
