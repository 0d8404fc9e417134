package catalog_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/topic"
)

// The AsyncAPI 3.0.0 JSON Schema's rules for the parts we generate.
var (
	componentKey        = regexp.MustCompile(`^[a-zA-Z0-9.\-_]+$`)
	correlationLocation = regexp.MustCompile(`^\$message\.(header|payload)#(/(([^/~])|(~[01]))*)*$`)
)

// resolvePointer follows a local JSON pointer ("#/a/b") through doc.
func resolvePointer(doc map[string]any, pointer string) (any, error) {
	if !strings.HasPrefix(pointer, "#/") {
		return nil, fmt.Errorf("%q is not a local reference", pointer)
	}
	var cur any = doc
	for _, part := range strings.Split(pointer[2:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", pointer, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("%q: no %q", pointer, part)
		}
	}
	return cur, nil
}

// collectRefs returns every $ref value in v.
func collectRefs(v any) []string {
	var refs []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				refs = append(refs, s)
			}
			refs = append(refs, collectRefs(x)...)
		}
	case []any:
		for _, x := range v {
			refs = append(refs, collectRefs(x)...)
		}
	}
	return refs
}

func obj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "%s: want an object, got %T", what, v)
	return m
}

// checkAsyncAPI validates the structure of a generated document for the
// service s of c.
func checkAsyncAPI(t *testing.T, c *catalog.Catalog, s *catalog.Service, ns string, doc map[string]any) {
	t.Helper()
	assert.Equal(t, "3.0.0", doc["asyncapi"])
	info := obj(t, doc["info"], "info")
	assert.Equal(t, s.Name, info["title"])
	assert.NotEmpty(t, info["version"])

	for _, ref := range collectRefs(doc) {
		_, err := resolvePointer(doc, ref)
		assert.NoError(t, err, "every $ref resolves")
	}

	comps := obj(t, doc["components"], "components")
	for _, section := range []string{"messages", "schemas"} {
		for key := range obj(t, comps[section], section) {
			assert.Regexp(t, componentKey, key, "components.%s key", section)
		}
	}

	channels := obj(t, doc["channels"], "channels")
	for id, ch := range channels {
		ch := obj(t, ch, "channel "+id)
		tp := c.Topic(ch["title"].(string))
		require.NotNil(t, tp, "channel %s names a catalog topic", id)
		name, err := tp.Parsed()
		require.NoError(t, err)
		assert.Equal(t, topic.Subject(ns, tp.Kind, name), ch["address"], "address is the wire subject")
		require.NotEmpty(t, obj(t, ch["messages"], "messages"))
	}

	ops := obj(t, doc["operations"], "operations")
	want := map[string]string{} // topic -> action, one per use
	for _, u := range s.Uses {
		action := "receive"
		if u.Role == catalog.RoleSends || u.Role == catalog.RolePublishes {
			action = "send"
		}
		want[string(u.Role)+" "+u.Topic] = action
	}
	got := map[string]string{}
	for id, op := range ops {
		op := obj(t, op, "operation "+id)
		assert.Contains(t, []any{"send", "receive"}, op["action"])
		chRef := obj(t, op["channel"], "channel")["$ref"].(string)
		ch, err := resolvePointer(doc, chRef)
		require.NoError(t, err)
		msgs, ok := op["messages"].([]any)
		require.True(t, ok && len(msgs) > 0, "operation %s lists its messages", id)
		for _, m := range msgs {
			ref := obj(t, m, "message ref")["$ref"].(string)
			assert.True(t, strings.HasPrefix(ref, chRef+"/messages/"), "operation messages must be the channel's: %s", ref)
		}
		role := strings.TrimSuffix(id, strings.TrimPrefix(chRef, "#/channels/"))
		got[role+" "+obj(t, ch, "channel")["title"].(string)] = op["action"].(string)
	}
	assert.Equal(t, want, got, "one operation per use, with the action seen from the service")

	for id, m := range obj(t, comps["messages"], "messages") {
		m := obj(t, m, "message "+id)
		for _, key := range []string{"payload", "headers", "correlationId", "contentType"} {
			assert.Contains(t, m, key, "message %s", id)
		}
		loc := obj(t, m["correlationId"], "correlationId")["location"]
		assert.Equal(t, "$message.header#/ce-correlationid", loc)
		assert.Regexp(t, correlationLocation, loc)
		headers, err := resolvePointer(doc, obj(t, m["headers"], "headers")["$ref"].(string))
		require.NoError(t, err)
		h := obj(t, headers, "headers schema")
		assert.Equal(t, "object", h["type"])
		props := obj(t, h["properties"], "header properties")
		for _, k := range []string{"ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-correlationid", "ce-causationid"} {
			assert.Contains(t, props, k)
		}
	}
}

func TestAsyncAPIStructure(t *testing.T) {
	t.Parallel()
	for _, name := range goldenCatalogs {
		c := loadTestdata(t, name)
		for _, s := range c.Services {
			for _, ns := range []string{"", "staging"} {
				out, err := catalog.GenerateAsyncAPI(c, s.Name, catalog.WithNamespace(ns))
				require.NoError(t, err)
				var fromYAML map[string]any
				require.NoError(t, yaml.Unmarshal(out, &fromYAML), "parses back as YAML")
				checkAsyncAPI(t, c, s, ns, fromYAML)

				js, err := catalog.GenerateAsyncAPI(c, s.Name, catalog.WithNamespace(ns), catalog.WithJSON())
				require.NoError(t, err)
				var fromJSON map[string]any
				require.NoError(t, json.Unmarshal(js, &fromJSON))
				// Same document in both encodings (compare via JSON, which
				// normalises YAML's number types).
				a, _ := json.Marshal(fromYAML)
				b, _ := json.Marshal(fromJSON)
				assert.JSONEq(t, string(a), string(b))
			}
		}
	}
}

func TestAsyncAPIPayloadSchemas(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "kitchen")
	out, err := catalog.GenerateAsyncAPI(c, "orders")
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(out, &doc))
	schema, err := resolvePointer(doc, "#/components/schemas/OrderPlaceV1")
	require.NoError(t, err)
	s := obj(t, schema, "schema")
	assert.Equal(t, "object", s["type"])
	assert.Equal(t, []any{"order_id", "customer_id", "items", "quantities", "total_cents", "weight_kg", "gift", "signature", "placed_at", "count"}, s["required"],
		"required fields in file order; optional ones left out")
	props := obj(t, s["properties"], "properties")
	tests := map[string]map[string]any{
		"order_id":    {"type": "string", "format": "uuid"},
		"items":       {"type": []any{"array", "null"}, "items": map[string]any{"type": "string"}, "description": "SKUs of the ordered items."},
		"quantities":  {"type": []any{"object", "null"}, "additionalProperties": map[string]any{"type": "integer", "format": "int32"}},
		"total_cents": {"type": "integer", "format": "int64"},
		"weight_kg":   {"type": "number", "format": "double"},
		"gift":        {"type": "boolean"},
		"note":        {"type": "string"},
		"deliver_by":  {"type": "string", "format": "date-time"},
		"signature":   {"type": []any{"string", "null"}, "contentEncoding": "base64"},
		"attachments": {"type": "array", "items": map[string]any{"type": "string", "contentEncoding": "base64"}},
		"count":       {"type": "integer"},
	}
	for field, want := range tests {
		assert.Equal(t, want, props[field], field)
	}
}

func TestAsyncAPIRefusals(t *testing.T) {
	t.Parallel()
	c := loadTestdata(t, "kitchen")
	_, err := catalog.GenerateAsyncAPI(c, "billing")
	require.ErrorIs(t, err, catalog.ErrUnknownService)
	assert.Contains(t, err.Error(), "services are: analytics, carts, orders, storefront")

	_, err = catalog.GenerateAsyncAPI(c, "orders", catalog.WithNamespace("Prod"))
	require.ErrorIs(t, err, topic.ErrInvalidNamespace)

	bad := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web: {sends: [v1.user.sigunp]}\n")
	_, err = catalog.GenerateAsyncAPI(bad, "web")
	require.ErrorIs(t, err, catalog.ErrInvalid)
	assert.Contains(t, err.Error(), "cat.yaml:5: service web: sends v1.user.sigunp, which is not declared")
}
