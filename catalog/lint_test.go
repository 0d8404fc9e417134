package catalog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// finding is the part of a Diagnostic a lint test pins down.
type finding struct {
	rule     catalog.Rule
	severity catalog.Severity
	line     int
	contains string
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s line %d %q", f.severity, f.rule, f.line, f.contains)
}

const (
	E = catalog.SeverityError
	W = catalog.SeverityWarning
)

// assertFindings checks that ds are exactly the wanted findings, in order.
func assertFindings(t *testing.T, ds []catalog.Diagnostic, want []finding) {
	t.Helper()
	var got []string
	for _, d := range ds {
		got = append(got, d.String()+" ["+string(d.Rule)+"]")
	}
	require.Len(t, ds, len(want), "findings:\n%s", strings.Join(got, "\n"))
	for i, w := range want {
		d := ds[i]
		assert.Equal(t, w.rule, d.Rule, "finding %d: %s", i, got[i])
		assert.Equal(t, w.severity, d.Severity, "finding %d: %s", i, got[i])
		assert.Equal(t, w.line, d.Line, "finding %d: %s", i, got[i])
		assert.Contains(t, d.Message, w.contains, "finding %d", i)
		assert.Equal(t, "cat.yaml", d.File)
	}
}

func mustParse(t *testing.T, src string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Parse("cat.yaml", []byte(src))
	require.NoError(t, err)
	return c
}

func TestLintRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []finding
	}{
		{
			name: "clean catalog",
			src: `version: 1
topics:
  v1.user.signup: {payload: {email: string}}
  v1.user.signedup: {payload: {user_id: string}}
services:
  web: {sends: [v1.user.signup]}
  accounts: {handles: [v1.user.signup], publishes: [v1.user.signedup]}
  email: {subscribes: [v1.user.signedup]}
`,
		},
		{
			name: "grammar",
			src:  "version: 1\ntopics:\n  user.signup: {}\n",
			want: []finding{{catalog.RuleGrammar, E, 3, "topic user.signup:"}},
		},
		{
			name: "ambiguous verb needs a kind",
			src:  "version: 1\ntopics:\n  v1.password.reset: {}\n",
			want: []finding{{catalog.RuleKind, E, 3, `the verb "reset" reads the same as a command and as an event; declare`}},
		},
		{
			name: "ambiguous verb with a kind",
			src:  "version: 1\ntopics:\n  v1.password.reset: {kind: command}\n",
		},
		{
			name: "command named in the past tense",
			src:  "version: 1\ntopics:\n  v1.user.signedup:\n    kind: command\n",
			want: []finding{{catalog.RuleTense, E, 4, "declared kind command contradicts the verb's tense"}},
		},
		{
			name: "event named in the present tense",
			src:  "version: 1\ntopics:\n  v1.user.signup:\n    kind: event\n",
			want: []finding{{catalog.RuleTense, E, 4, "declared kind event contradicts the verb's tense"}},
		},
		{
			name: "tense rules overridden for a misread verb",
			src:  "version: 1\ntopics:\n  v1.build.green:\n    kind: event\n    skip_tense_check: true\n",
		},
		{
			name: "tense check skipped needlessly",
			src:  "version: 1\ntopics:\n  v1.user.signedup:\n    kind: event\n    skip_tense_check: true\n",
			want: []finding{{catalog.RuleTense, W, 4, `skip_tense_check is not needed: the verb "signedup" already fits an event`}},
		},
		{
			name: "tense check skipped without a kind",
			src:  "version: 1\ntopics:\n  v1.build.green:\n    skip_tense_check: true\n",
			want: []finding{{catalog.RuleTense, W, 3, "skip_tense_check has no effect without a declared kind"}},
		},
		{
			name: "unknown field type",
			src:  "version: 1\ntopics:\n  v1.user.signup:\n    payload:\n      email: strng\n",
			want: []finding{{catalog.RuleFieldType, E, 5, `topic v1.user.signup: field email: unknown field type "strng" (did you mean "string"?)`}},
		},
		{
			name: "two fields with the same Go name",
			src:  "version: 1\ntopics:\n  v1.user.signup:\n    payload:\n      user_id: string\n      userId: string\n",
			want: []finding{{catalog.RuleFieldName, E, 6, "fields user_id (line 5) and userId both become the Go field UserID"}},
		},
		{
			name: "field name that cannot be Go",
			src:  "version: 1\ntopics:\n  v1.user.signup:\n    payload:\n      2fa: bool\n",
			want: []finding{{catalog.RuleFieldName, E, 5, `field "2fa" cannot become a Go field name`}},
		},
		{
			name: "bad Go type reference",
			src:  "version: 1\ntopics:\n  v1.user.signup:\n    type: example.com/pkg.lower\n",
			want: []finding{{catalog.RuleGoType, E, 4, "is not an exported Go type name"}},
		},
		{
			name: "two topics generate the same Go name",
			src:  "version: 1\ntopics:\n  v1.user.signup: {}\n  v1.topic.user.signup: {}\n",
			want: []finding{{catalog.RuleGoName, E, 3, "generates the Go name TopicUserSignupV1, which topic v1.topic.user.signup (line 4) generates too"}},
		},
		{
			name: "package that is not a Go name",
			src:  "version: 1\npackage: my-topics\ntopics: {}\n",
			want: []finding{{catalog.RulePackage, E, 2, `package "my-topics" is not a Go package name`}},
		},
		{
			name: "service name",
			src:  "version: 1\ntopics: {}\nservices:\n  my service: {}\n",
			want: []finding{{catalog.RuleServiceName, E, 4, `service "my service": a service name starts with a letter`}},
		},
		{
			name: "undeclared topic",
			src: `version: 1
topics:
  v1.user.signup: {}
services:
  web: {sends: [v1.user.signup]}
  accounts: {handles: [v1.user.signup, v1.user.sigunp]}
`,
			want: []finding{{catalog.RuleUndeclared, E, 6, "service accounts: handles v1.user.sigunp, which is not declared under topics (did you mean v1.user.signup?)"}},
		},
		{
			name: "role of the wrong kind",
			src: `version: 1
topics:
  v1.user.signup: {}
  v1.user.signedup: {}
services:
  accounts:
    handles: [v1.user.signup, v1.user.signedup]
    publishes: [v1.user.signup]
  email: {subscribes: [v1.user.signedup]}
  metrics: {sends: [v1.user.signedup]}
`,
			want: []finding{
				{catalog.RuleNoPublisher, W, 4, "event v1.user.signedup is published by no service"},
				{catalog.RuleRole, E, 7, "service accounts: handles v1.user.signedup, which is an event; use subscribes instead"},
				{catalog.RuleRole, E, 8, "service accounts: publishes v1.user.signup, which is a command; use sends instead"},
				{catalog.RuleRole, E, 10, "service metrics: sends v1.user.signedup, which is an event; use publishes instead"},
			},
		},
		{
			name: "command handled by no service",
			src:  "version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web: {sends: [v1.user.signup]}\n",
			want: []finding{{catalog.RuleHandlers, E, 3, "command v1.user.signup is handled by no service"}},
		},
		{
			name: "command handled by two services",
			src: `version: 1
topics:
  v1.user.signup: {}
services:
  accounts: {handles: [v1.user.signup]}
  billing: {handles: [v1.user.signup]}
`,
			want: []finding{{catalog.RuleHandlers, E, 3, "command v1.user.signup is handled by 2 services (accounts, billing); a command has exactly one handler"}},
		},
		{
			name: "no handler rule without a services section",
			src:  "version: 1\ntopics:\n  v1.user.signup: {}\n  v1.user.signedup: {}\n",
		},
		{
			name: "event nobody publishes or subscribes to",
			src: `version: 1
topics:
  v1.user.signedup: {}
services:
  web: {}
`,
			want: []finding{
				{catalog.RuleNoSubscriber, W, 3, "event v1.user.signedup has no subscribers"},
				{catalog.RuleNoPublisher, W, 3, "event v1.user.signedup is published by no service"},
			},
		},
		{
			name: "topic listed twice",
			src: `version: 1
topics:
  v1.user.signedup: {}
services:
  accounts: {publishes: [v1.user.signedup, v1.user.signedup]}
  email: {subscribes: [v1.user.signedup]}
`,
			want: []finding{{catalog.RuleDuplicateUse, W, 5, "service accounts: publishes lists v1.user.signedup twice"}},
		},
		{
			name: "version gap",
			src:  "version: 1\ntopics:\n  v1.user.signup: {}\n  v3.user.signup: {}\n  v2.user.deleted: {}\n",
			want: []finding{{catalog.RuleVersionGap, W, 4, "topic v3.user.signup: version gap: v2.user.signup missing between v1 and v3"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustParse(t, tt.src)
			assertFindings(t, catalog.Lint(c), tt.want)
		})
	}
}

func TestValidateChecksOnlyDefinitions(t *testing.T) {
	t.Parallel()
	// A service problem is for lint; the Go generator does not care.
	c := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web: {sends: [v1.user.signup]}\n")
	require.True(t, catalog.HasErrors(catalog.Lint(c)))
	require.NoError(t, catalog.Validate(c))

	c = mustParse(t, "version: 1\ntopics:\n  v1.user.signup:\n    payload: {email: strng}\n")
	err := catalog.Validate(c)
	require.ErrorIs(t, err, catalog.ErrInvalid)
	assert.Equal(t, `cat.yaml:4: topic v1.user.signup: field email: unknown field type "strng" (did you mean "string"?); field types are string int int32 int64 float64 bool time bytes uuid, []T, map[string]T and T? for optional`, err.Error())
}
