package catalog

import (
	"fmt"
	"strings"
)

// Breaking compares a catalog with an older version of itself (old, for
// example the file on the main branch) and reports changes that break
// services built from the old one. A topic version is a contract: once
// released, its payload may only grow optional fields.
//
// Errors (RuleBreaking): in a topic present in both, a field removed,
// renamed or retyped; the kind changed; the payload switched between fields
// and an existing Go type, or to another Go type. The fix is a new version
// (v2.user.signup) next to the old one.
//
// Warnings: a topic removed (RuleRemovedTopic) — fine once nobody sends or
// handles it any more —, and a required field added to an existing version
// (RuleAddedRequired) — messages from services built from the old catalog
// will not carry it.
//
// Findings about the new catalog carry its file and lines; a removed topic
// is reported at its line in the old file.
func Breaking(old, cur *Catalog) []Diagnostic {
	var ds []Diagnostic
	report := func(file string, line int, sev Severity, rule Rule, format string, args ...any) {
		ds = append(ds, Diagnostic{File: file, Line: line, Severity: sev, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	curTopics := make(map[string]*Topic, len(cur.Topics))
	for _, t := range cur.Topics {
		if _, dup := curTopics[t.Name]; !dup {
			curTopics[t.Name] = t
		}
	}
	highest := highestVersions(cur)
	for _, ot := range old.Topics {
		nt := curTopics[ot.Name]
		if nt == nil {
			report(old.File, ot.Line, SeverityWarning, RuleRemovedTopic,
				"topic %s was removed from %s; services built from the old catalog that still send or handle it will fail", ot.Name, cur.File)
			continue
		}
		bump := bumpHint(highest, nt)
		breaking := func(line int, format string, args ...any) {
			if line == 0 {
				line = nt.Line
			}
			report(cur.File, line, SeverityError, RuleBreaking, "topic %s: %s, a breaking change to a released version; %s", nt.Name, fmt.Sprintf(format, args...), bump)
		}
		if ot.Kind != 0 && nt.Kind != 0 && ot.Kind != nt.Kind {
			breaking(nt.KindLine, "kind changed from %s to %s", kindName(ot.Kind), kindName(nt.Kind))
		}
		switch {
		case ot.GoType != nt.GoType && ot.GoType != "" && nt.GoType != "":
			breaking(nt.GoTypeLine, "payload type changed from %s to %s", ot.GoType, nt.GoType)
		case ot.GoType != "" && nt.GoType == "":
			breaking(nt.PayloadLine, "payload changed from the Go type %s to generated fields", ot.GoType)
		case ot.GoType == "" && nt.GoType != "":
			breaking(nt.GoTypeLine, "payload changed from generated fields to the Go type %s", nt.GoType)
		case ot.GoType == "":
			compareFields(ot, nt, breaking, func(line int, format string, args ...any) {
				report(cur.File, line, SeverityWarning, RuleAddedRequired, "topic %s: %s", nt.Name, fmt.Sprintf(format, args...))
			})
		}
	}
	sortDiagnostics(ds)
	return ds
}

func compareFields(ot, nt *Topic, breaking, warn func(line int, format string, args ...any)) {
	oldFields := map[string]bool{}
	for _, f := range ot.Fields {
		oldFields[f.Name] = true
	}
	newFields := map[string]*Field{}
	var added []*Field
	for _, f := range nt.Fields {
		newFields[f.Name] = f
		if !oldFields[f.Name] {
			added = append(added, f)
		}
	}
	// A removed field and an added field of the same type are most likely
	// a rename; pair them in file order so each is reported once. Added
	// fields wait in a queue per type, so pairing costs one map lookup per
	// removed field however many fields a payload has.
	renamed := map[*Field]bool{}
	addedByType := map[string][]*Field{}
	for _, f := range added {
		addedByType[typeKey(f)] = append(addedByType[typeKey(f)], f)
	}
	for _, of := range ot.Fields {
		nf := newFields[of.Name]
		if nf != nil {
			if !sameType(of, nf) {
				breaking(nf.Line, "field %s changed type from %s to %s", of.Name, of.Type, nf.Type)
			}
			continue
		}
		var to *Field
		if queue := addedByType[typeKey(of)]; len(queue) > 0 {
			to, addedByType[typeKey(of)] = queue[0], queue[1:]
		}
		if to != nil {
			renamed[to] = true
			breaking(to.Line, "field %s (%s) was renamed to %s", of.Name, of.Type, to.Name)
			continue
		}
		breaking(nt.PayloadLine, "field %s (%s) was removed", of.Name, of.Type)
	}
	for _, f := range added {
		if !renamed[f] && f.typeErr == nil && !f.typ.optional {
			warn(f.Line, "field %s was added as required; messages from services built from the old catalog will not carry it, so make it optional (%s?) or add it in a new version", f.Name, f.Type)
		}
	}
}

// sameType compares field types by meaning ("[]int64" and " []int64 "
// are the same); unparsable types are compared as written.
func sameType(a, b *Field) bool { return typeKey(a) == typeKey(b) }

// typeKey is what sameType compares: the canonical spelling of a type
// that parses, the trimmed text of one that does not. A text that parses
// never equals one that does not, so the two kinds cannot collide.
func typeKey(f *Field) string {
	if f.typeErr != nil || f.typ.base == 0 {
		return "?" + strings.TrimSpace(f.Type)
	}
	return f.typ.String()
}

// highestVersions maps each topic name without its version
// ("user.signup") to the highest version the catalog declares of it.
func highestVersions(c *Catalog) map[string]int {
	highest := map[string]int{}
	for _, t := range c.Topics {
		if t.parseErr == nil {
			rest := unversioned(t.Name)
			highest[rest] = max(highest[rest], t.parsed.Version)
		}
	}
	return highest
}

// bumpHint says which version to add instead: one above the highest
// version of the topic in the catalog.
func bumpHint(highest map[string]int, t *Topic) string {
	if t.parseErr != nil {
		return "bump to a new version instead"
	}
	rest := unversioned(t.Name)
	next := max(highest[rest], t.parsed.Version) + 1
	return fmt.Sprintf("bump to v%d: declare v%d.%s with the new payload and keep %s until its consumers have moved", next, next, rest, t.Name)
}
