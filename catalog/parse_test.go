package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/topic"
)

func TestParseReadsEverything(t *testing.T) {
	t.Parallel()
	src := `version: 1
package: events
topics:
  v1.user.signedup:
    description: |
      A user account was created.
      Second line.
    payload:
      user_id: string
      tags: {type: "[]string", description: Labels.}
      nickname: string?
  v1.user.signup:
    kind: command
    payload:
      email: string
  v1.user.imported:
    type: example.com/legacy/users.Record
services:
  web:
    sends: [v1.user.signup]
  accounts:
    description: Owns users.
    subscribes: [v1.user.imported]
    handles: [v1.user.signup]
    publishes: [v1.user.signedup]
`
	c, err := catalog.Parse("cat.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, "cat.yaml", c.File)
	assert.Equal(t, 1, c.Version)
	assert.Equal(t, "events", c.Package)
	assert.Equal(t, 2, c.PackageLine)
	assert.True(t, c.HasServices)

	// Topics sorted by name.
	require.Len(t, c.Topics, 3)
	assert.Equal(t, []string{"v1.user.imported", "v1.user.signedup", "v1.user.signup"},
		[]string{c.Topics[0].Name, c.Topics[1].Name, c.Topics[2].Name})

	signedup := c.Topic("v1.user.signedup")
	require.NotNil(t, signedup)
	assert.Equal(t, 4, signedup.Line)
	assert.Equal(t, topic.KindEvent, signedup.Kind, "kind inferred from the past tense")
	assert.False(t, signedup.KindDeclared)
	assert.Equal(t, "A user account was created.\nSecond line.\n", signedup.Description)
	// Fields keep file order.
	require.Len(t, signedup.Fields, 3)
	assert.Equal(t, "user_id", signedup.Fields[0].Name)
	assert.Equal(t, 9, signedup.Fields[0].Line)
	assert.Equal(t, "tags", signedup.Fields[1].Name)
	assert.Equal(t, "[]string", signedup.Fields[1].Type)
	assert.Equal(t, "Labels.", signedup.Fields[1].Description)
	assert.Equal(t, "string?", signedup.Fields[2].Type)

	signup := c.Topic("v1.user.signup")
	assert.Equal(t, topic.KindCommand, signup.Kind)
	assert.True(t, signup.KindDeclared)
	assert.Equal(t, 13, signup.KindLine)

	imported := c.Topic("v1.user.imported")
	assert.Equal(t, "example.com/legacy/users.Record", imported.GoType)
	assert.Empty(t, imported.Fields)

	// Services sorted by name; uses in role order, then file order.
	require.Len(t, c.Services, 2)
	acc := c.Service("accounts")
	require.NotNil(t, acc)
	assert.Equal(t, "Owns users.", acc.Description)
	assert.Equal(t, []catalog.Use{
		{Role: catalog.RoleHandles, Topic: "v1.user.signup", Line: 24},
		{Role: catalog.RolePublishes, Topic: "v1.user.signedup", Line: 25},
		{Role: catalog.RoleSubscribes, Topic: "v1.user.imported", Line: 23},
	}, acc.Uses)
	assert.Equal(t, []string{"v1.user.signup"}, c.Service("web").Topics(catalog.RoleSends))
	assert.Nil(t, c.Service("nobody"))
	assert.Nil(t, c.Topic("v9.no.such"))
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		line int
		want string // substring of the message
	}{
		{"empty file", "", 0, "the file is empty"},
		{"not a mapping", "- a\n- b\n", 1, "the top level must be a mapping"},
		{"bad yaml", "version: 1\ntopics: [\n", 2, "not valid YAML"},
		{"missing version", "topics:\n  v1.user.signup: {}\n", 1, "version: missing"},
		{"version not a number", "version: one\ntopics: {}\n", 1, `version: "one" is not a number`},
		{"unsupported version", "version: 2\ntopics: {}\n", 1, "catalog format 2 is not supported"},
		{"missing topics", "version: 1\n", 1, "topics: missing"},
		{"unknown top-level key", "version: 1\ntopics: {}\nservice: {}\n", 3, `unknown key "service" (did you mean "services"?)`},
		{"duplicate key", "version: 1\ntopics:\n  v1.user.signup: {}\n  v1.user.signup: {}\n", 4, `key "v1.user.signup" is given twice (first at line 3)`},
		{"topics not a mapping", "version: 1\ntopics: [v1.user.signup]\n", 2, "topics: expected a mapping"},
		{"topic not a mapping", "version: 1\ntopics:\n  v1.user.signup: hello\n", 3, "topic v1.user.signup: expected a mapping"},
		{"unknown topic key", "version: 1\ntopics:\n  v1.user.signup:\n    kinds: command\n", 4, `topic v1.user.signup: unknown key "kinds" (did you mean "kind"?)`},
		{"bad kind", "version: 1\ntopics:\n  v1.user.signup:\n    kind: query\n", 4, `topic v1.user.signup: kind "query" is not valid; write command or event`},
		{"kind is a list", "version: 1\ntopics:\n  v1.user.signup:\n    kind: [command]\n", 4, "topic v1.user.signup: kind: expected a single value"},
		{"payload not a mapping", "version: 1\ntopics:\n  v1.user.signup:\n    payload: [email]\n", 4, "topic v1.user.signup: payload: expected a mapping"},
		{"field without type", "version: 1\ntopics:\n  v1.user.signup:\n    payload:\n      email:\n", 5, "topic v1.user.signup: field email: missing type"},
		{"field with unknown key", "version: 1\ntopics:\n  v1.user.signup:\n    payload:\n      email: {type: string, doc: x}\n", 5, `field email: unknown key "doc"`},
		{"payload and type", "version: 1\ntopics:\n  v1.user.signup:\n    payload: {email: string}\n    type: a.b/c.D\n", 5, "has both payload and type"},
		{"empty type", "version: 1\ntopics:\n  v1.user.signup:\n    type: \"\"\n", 4, "type: empty"},
		{"services not a mapping", "version: 1\ntopics: {}\nservices: [web]\n", 3, "services: expected a mapping"},
		{"service not a mapping", "version: 1\ntopics: {}\nservices:\n  web: [v1.user.signup]\n", 4, "service web: expected a mapping"},
		{"unknown role", "version: 1\ntopics: {}\nservices:\n  web: {publish: [v1.user.signup]}\n", 4, `service web: unknown key "publish" (did you mean "publishes"?)`},
		{"role not a list", "version: 1\ntopics: {}\nservices:\n  web:\n    sends: v1.user.signup\n", 5, "service web: sends: expected a list of topic names"},
		{"role item not a name", "version: 1\ntopics: {}\nservices:\n  web:\n    sends: [{a: b}]\n", 5, "service web: sends: expected a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := catalog.Parse("cat.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.Nil(t, c)
			assert.True(t, errors.Is(err, catalog.ErrInvalid))
			var invalid *catalog.Error
			require.ErrorAs(t, err, &invalid)
			var found bool
			for _, d := range invalid.Diagnostics {
				assert.Equal(t, "cat.yaml", d.File)
				assert.Equal(t, catalog.SeverityError, d.Severity)
				assert.Equal(t, catalog.RuleSyntax, d.Rule)
				if d.Line == tt.line && strings.Contains(d.Message, tt.want) {
					found = true
				}
			}
			assert.True(t, found, "want line %d with %q, got:\n%v", tt.line, tt.want, err)
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	src := "version: 3\ntopics:\n  v1.user.signup:\n    kind: query\n    colour: red\n"
	_, err := catalog.Parse("cat.yaml", []byte(src))
	var invalid *catalog.Error
	require.ErrorAs(t, err, &invalid)
	require.Len(t, invalid.Diagnostics, 3)
	assert.Equal(t, []int{1, 4, 5}, []int{invalid.Diagnostics[0].Line, invalid.Diagnostics[1].Line, invalid.Diagnostics[2].Line})
	assert.Equal(t, 3, strings.Count(err.Error(), "\n")+1, "one line per problem")
	assert.True(t, strings.HasPrefix(err.Error(), "cat.yaml:1: version:"))
}

func TestParseAcceptsAliasesAndNulls(t *testing.T) {
	t.Parallel()
	src := `version: 1
topics:
  v1.user.signup:
    payload: &fields
      email: string
  v2.user.signup:
    payload: *fields
  v1.user.deleted:
services:
  idle:
`
	c, err := catalog.Parse("cat.yaml", []byte(src))
	require.NoError(t, err)
	require.Len(t, c.Topic("v2.user.signup").Fields, 1)
	assert.Empty(t, c.Topic("v1.user.deleted").Fields)
	assert.Empty(t, c.Service("idle").Uses)
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := catalog.Load("testdata/does-not-exist.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "testdata/does-not-exist.yaml")
	assert.False(t, errors.Is(err, catalog.ErrInvalid))
}

func TestDiagnosticString(t *testing.T) {
	t.Parallel()
	d := catalog.Diagnostic{File: "c.yaml", Line: 7, Severity: catalog.SeverityError, Message: "bad"}
	assert.Equal(t, "c.yaml:7: bad", d.String())
	d.Severity = catalog.SeverityWarning
	assert.Equal(t, "c.yaml:7: warning: bad", d.String())
	d.Line = 0
	assert.Equal(t, "c.yaml: warning: bad", d.String())
	assert.Equal(t, "warning", catalog.SeverityWarning.String())
	assert.Equal(t, "error", catalog.SeverityError.String())
}
