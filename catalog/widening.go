package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/choreo-bus/choreo/topic"
)

// Widening compares cur with an older version of the same catalog and
// warns (RuleWidened) about every service that publishes, in cur but not
// in old, an event of an entity whose events other services already
// published in old: the permissions derived from the catalog then let it
// speak for another service's entity, so a review should see it. Senders
// are not flagged: sending a command to another service is what commands
// are for. A service new in cur is compared with nothing, so each such
// publish of it is flagged. Findings point at cur's lines.
func Widening(old, cur *Catalog) []Diagnostic {
	publishers := map[string][]string{} // entity -> services publishing its events in old
	before := map[string]bool{}         // "service\x00topic" published in old
	for _, s := range old.Services {
		for _, name := range s.Topics(RolePublishes) {
			before[s.Name+"\x00"+name] = true
			if e := entityOf(old, name); e != "" && !slices.Contains(publishers[e], s.Name) {
				publishers[e] = append(publishers[e], s.Name)
			}
		}
	}
	var ds []Diagnostic
	for _, s := range cur.Services {
		for _, u := range s.Uses {
			if u.Role != RolePublishes || before[s.Name+"\x00"+u.Topic] {
				continue
			}
			e := entityOf(cur, u.Topic)
			var others []string
			for _, p := range publishers[e] {
				if p != s.Name {
					others = append(others, p)
				}
			}
			if e == "" || len(others) == 0 {
				continue
			}
			slices.Sort(others)
			n, _ := cur.Topic(u.Topic).Parsed()
			ds = append(ds, Diagnostic{File: cur.File, Line: u.Line, Severity: SeverityWarning, Rule: RuleWidened,
				Message: fmt.Sprintf("service %s now publishes %s, an event of entity %s, which %s publishes: its NATS permissions widen to publishing %s (choreo gen permissions); make sure this service should speak for %s",
					s.Name, u.Topic, e, strings.Join(others, " and "), topic.Subject("", topic.KindEvent, n), e)})
		}
	}
	return ds
}

// entityOf is the entity of a declared event topic of c, or "".
func entityOf(c *Catalog, name string) string {
	t := c.Topic(name)
	if t == nil || t.Kind != topic.KindEvent {
		return ""
	}
	n, err := t.Parsed()
	if err != nil {
		return ""
	}
	return n.Entity
}
