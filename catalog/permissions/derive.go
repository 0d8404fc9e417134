package permissions

import (
	"fmt"
	"slices"
	"strings"

	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/topic"
)

// User is the NATS user of one service and what it may do.
type User struct {
	// Name is the NATS user name: the service, or in a namespace
	// "<ns with dots as _>__<service>" (prod_eu__email).
	Name string `json:"user"`
	// Service is the catalog service.
	Service string `json:"service"`
	// InboxPrefix is the reply prefix the service must connect with
	// (nats.CustomInboxPrefix); it may subscribe under it only.
	InboxPrefix string `json:"inbox_prefix"`
	// PasswordVar is the environment variable the nats-server
	// configuration takes the user's password from.
	PasswordVar string `json:"password_env"`
	// Publish and Subscribe are the allow lists, sorted, each subject once.
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
}

// Set is the users of one catalog in one namespace, sorted by service.
type Set struct {
	Catalog   string `json:"catalog"`
	Namespace string `json:"namespace"`
	Users     []User `json:"users"`
}

// UserName is the NATS user of service in namespace ns.
func UserName(ns, service string) string {
	if ns == "" {
		return service
	}
	return strings.ReplaceAll(ns, ".", "_") + "__" + service
}

// PasswordVar is the environment variable holding the password of user
// name in a generated configuration: CHOREO_PASSWORD_ACCOUNTS for
// "accounts", '-' becoming '_'.
func PasswordVar(user string) string {
	return "CHOREO_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
}

// Derive computes the users of every service of c in namespace ns, or of
// the one service named when service is not "". It refuses a catalog with
// lint errors (a *catalog.Error listing them): a broken catalog must not
// grant anything. An unknown service matches catalog.ErrUnknownService.
func Derive(c *catalog.Catalog, ns, service string) (*Set, error) {
	if err := topic.ValidateNamespace(ns); err != nil {
		return nil, err
	}
	var errs []catalog.Diagnostic
	for _, d := range catalog.Lint(c) {
		if d.Severity == catalog.SeverityError {
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		return nil, &catalog.Error{Diagnostics: errs}
	}
	if service != "" && c.Service(service) == nil {
		names := make([]string, 0, len(c.Services))
		for _, s := range c.Services {
			names = append(names, s.Name)
		}
		return nil, fmt.Errorf("%w: %s declares no service %q; services are: %s", catalog.ErrUnknownService, c.File, service, strings.Join(names, ", "))
	}
	set := &Set{Catalog: c.File, Namespace: ns}
	vars := map[string]string{}
	for _, s := range c.Services {
		if err := topic.ValidateGroup(s.Name); err != nil {
			return nil, fmt.Errorf("choreo/permissions: service %q cannot be a NATS user: %w", s.Name, err)
		}
		u := derive(c, ns, s)
		if u.Name == OperatorUser {
			return nil, fmt.Errorf("choreo/permissions: service %q has the name of the operator's user; rename it", s.Name)
		}
		if other, taken := vars[u.PasswordVar]; taken {
			return nil, fmt.Errorf("choreo/permissions: services %q and %q would share the password variable %s; rename one", other, s.Name, u.PasswordVar)
		}
		vars[u.PasswordVar] = s.Name
		if service == "" || s.Name == service {
			set.Users = append(set.Users, u)
		}
	}
	return set, nil
}

// derive applies Table to one service.
func derive(c *catalog.Catalog, ns string, s *catalog.Service) User {
	name := UserName(ns, s.Name)
	u := User{Name: name, Service: s.Name, InboxPrefix: topic.InboxPrefix(ns, s.Name), PasswordVar: PasswordVar(name)}
	add := func(r Role, t Target) {
		for _, row := range Table {
			if row.Role == r {
				g := row.Grant(t)
				u.Publish = append(u.Publish, g.Publish...)
				u.Subscribe = append(u.Subscribe, g.Subscribe...)
			}
		}
	}
	base := Target{Namespace: ns, Service: s.Name}
	add(RoleBase, base)
	for _, use := range s.Uses {
		t := c.Topic(use.Topic)
		if t == nil {
			continue // lint reported it
		}
		n, err := t.Parsed()
		if err != nil {
			continue
		}
		tt := base
		tt.Kind, tt.Topic = t.Kind, n
		tt.Subject = topic.Subject(ns, t.Kind, n)
		tt.Stream = topic.Stream(ns, t.Kind, n.Entity)
		switch use.Role {
		case catalog.RoleSends:
			add(RoleSender, tt)
		case catalog.RolePublishes:
			add(RolePublisher, tt)
		case catalog.RoleHandles, catalog.RoleSubscribes:
			tt.Consumer = topic.ConsumerName(s.Name, n)
			if use.Role == catalog.RoleHandles {
				add(RoleHandler, tt)
			} else {
				add(RoleSubscriber, tt)
			}
			add(RoleDeadLetters, tt)
			add(RoleAdvisories, tt)
			add(RoleDeadLetterReader, tt)
		}
	}
	if s.Inbox {
		t := base
		t.Bucket = topic.InboxBucket(ns, s.Name)
		add(RoleInbox, t)
	}
	u.Publish, u.Subscribe = unique(u.Publish), unique(u.Subscribe)
	return u
}

func unique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
