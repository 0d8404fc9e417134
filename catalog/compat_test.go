package catalog_test

import (
	"testing"

	"github.com/choreo-bus/choreo/catalog"
)

func TestBreaking(t *testing.T) {
	t.Parallel()
	const old = `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      name: string
      age: int?
  v1.user.signedup:
    payload:
      user_id: string
  v1.user.imported:
    type: example.com/legacy.Record
  v1.user.deleted: {}
`
	tests := []struct {
		name string
		cur  string
		want []finding
	}{
		{
			name: "unchanged",
			cur:  old,
		},
		{
			name: "optional field added, order changed, new version added",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      name: string
      email: string
      age: int?
      locale: string?
  v2.user.signup: {}
  v1.user.signedup:
    payload: {user_id: string}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
		},
		{
			name: "field removed",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      age: int?
  v1.user.signedup: {payload: {user_id: string}}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
			want: []finding{{catalog.RuleBreaking, E, 4, "topic v1.user.signup: field name (string) was removed, a breaking change to a released version; bump to v2: declare v2.user.signup with the new payload and keep v1.user.signup until its consumers have moved"}},
		},
		{
			name: "field renamed",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      full_name: string
      age: int?
  v1.user.signedup: {payload: {user_id: string}}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
			want: []finding{{catalog.RuleBreaking, E, 6, "field name (string) was renamed to full_name"}},
		},
		{
			name: "field retyped, bump past the highest version",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      name: string
      age: int64?
  v2.user.signup: {}
  v1.user.signedup: {payload: {user_id: string}}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
			want: []finding{{catalog.RuleBreaking, E, 7, "field age changed type from int? to int64?, a breaking change to a released version; bump to v3"}},
		},
		{
			name: "optional made required",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      name: string
      age: int
  v1.user.signedup: {payload: {user_id: string}}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
			want: []finding{{catalog.RuleBreaking, E, 7, "field age changed type from int? to int"}},
		},
		{
			name: "required field added",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      name: string
      age: int?
      country: string
  v1.user.signedup: {payload: {user_id: string}}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
			want: []finding{{catalog.RuleAddedRequired, W, 8, "topic v1.user.signup: field country was added as required; messages from services built from the old catalog will not carry it, so make it optional (string?)"}},
		},
		{
			name: "kind and payload type changed, topic removed",
			cur: `version: 1
topics:
  v1.user.signup:
    payload:
      email: string
      name: string
      age: int?
  v1.user.signedup:
    kind: command
    payload: {user_id: string}
  v1.user.imported: {type: example.com/legacy.Other}
`,
			want: []finding{
				{catalog.RuleBreaking, E, 9, "topic v1.user.signedup: kind changed from event to command"},
				{catalog.RuleBreaking, E, 11, "topic v1.user.imported: payload type changed from example.com/legacy.Record to example.com/legacy.Other"},
				// Reported at its line in the old file.
				{catalog.RuleRemovedTopic, W, 13, "topic v1.user.deleted was removed from cat.yaml"},
			},
		},
		{
			name: "generated fields replaced by a Go type",
			cur: `version: 1
topics:
  v1.user.signup:
    type: example.com/legacy.Signup
  v1.user.signedup: {payload: {user_id: string}}
  v1.user.imported: {type: example.com/legacy.Record}
  v1.user.deleted: {}
`,
			want: []finding{{catalog.RuleBreaking, E, 4, "payload changed from generated fields to the Go type example.com/legacy.Signup"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			oldCat := mustParse(t, old)
			cur := mustParse(t, tt.cur)
			assertFindings(t, catalog.Breaking(oldCat, cur), tt.want)
		})
	}
}
