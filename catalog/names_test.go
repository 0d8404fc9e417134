package catalog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoFieldName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"email":          "Email",
		"user_id":        "UserID",
		"userId":         "UserID",
		"userID":         "UserID",
		"signed_up_at":   "SignedUpAt",
		"signed-up-at":   "SignedUpAt",
		"avatar_url":     "AvatarURL",
		"http_status":    "HTTPStatus",
		"HTTPStatus":     "HTTPStatus",
		"json_api_uuid":  "JSONAPIUUID",
		"ip":             "IP",
		"address_line2":  "AddressLine2",
		"utf8_name":      "UTF8Name",
		"x":              "X",
		"identity":       "Identity", // "id" is an initialism only as a whole word
		"2fa":            "",
		"_private":       "",
		"with space":     "",
		"dotted.key":     "",
		"":               "",
		"api_key_sha256": "APIKeySha256",
	}
	for key, want := range tests {
		assert.Equal(t, want, goFieldName(key), "key %q", key)
	}
}

func TestFieldTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, goType, canonical string
		optional, nilable     bool
	}{
		{"string", "string", "string", false, false},
		{"int", "int", "int", false, false},
		{"int32", "int32", "int32", false, false},
		{"int64", "int64", "int64", false, false},
		{"float64", "float64", "float64", false, false},
		{"bool", "bool", "bool", false, false},
		{"time", "time.Time", "time", false, false},
		{"bytes", "[]byte", "bytes", false, true},
		{"uuid", "uuid.UUID", "uuid", false, false},
		{"string?", "*string", "string?", true, false},
		{"time?", "*time.Time", "time?", true, false},
		{"uuid?", "*uuid.UUID", "uuid?", true, false},
		{"bytes?", "[]byte", "bytes?", true, true},
		{"[]string", "[]string", "[]string", false, true},
		{"[]time?", "[]time.Time", "[]time?", true, true},
		{"map[string]int64", "map[string]int64", "map[string]int64", false, true},
		{" map[string]bool? ", "map[string]bool", "map[string]bool?", true, true},
		{"[]bytes", "[][]byte", "[]bytes", false, true},
	}
	for _, tt := range tests {
		ft, err := parseFieldType(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.goType, ft.goType(), tt.in)
		assert.Equal(t, tt.canonical, ft.String(), tt.in)
		assert.Equal(t, tt.optional, ft.optional, tt.in)
		assert.Equal(t, tt.nilable, ft.nilable(), tt.in)
	}
}

func TestFieldTypeErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"strng":           `(did you mean "string"?)`,
		"integer":         `(did you mean "int64"?)`,
		"[]timestamp":     `(did you mean "[]time"?)`,
		"boolean?":        `(did you mean "bool?"?)`,
		"*string":         `write string? for an optional field`,
		"map[int]string":  `maps must have string keys`,
		"[][]string":      `not other lists or maps`,
		"map[string][]x":  `not other lists or maps`,
		"decimal":         `field types are string int int32 int64 float64 bool time bytes uuid`,
		"example.com/x.Y": `field types are`,
	}
	for in, want := range tests {
		_, err := parseFieldType(in)
		require.Error(t, err, in)
		assert.ErrorIs(t, err, errFieldType)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestParseGoTypeRef(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, path, name string }{
		{"example.com/mod/pkg.Name", "example.com/mod/pkg", "Name"},
		{"gopkg.in/yaml.v3.Node", "gopkg.in/yaml.v3", "Node"},
		{"net/netip.Addr", "net/netip", "Addr"},
		{"time.Time", "time", "Time"},
		{"Local", "", "Local"},
	}
	for _, tt := range ok {
		path, name, err := parseGoTypeRef(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.path, path, tt.in)
		assert.Equal(t, tt.name, name, tt.in)
	}
	for _, in := range []string{"example.com/mod/pkg", "example.com/mod/pkg.name", "example.com//pkg.Name", "a b/c.D", "x.Y[int]", "9x", "example.com/../pkg.Name"} {
		_, _, err := parseGoTypeRef(in)
		assert.Error(t, err, in)
	}
}

func TestImportAliases(t *testing.T) {
	t.Parallel()
	s := newImportSet()
	s.addFixed("time")
	s.assign([]string{
		"example.com/b/time", "example.com/a/time", "gopkg.in/yaml.v3", "example.com/mod/v2",
		"example.com/go-kit", "example.com/string", "example.com/x/Has.Dots", "github.com/google/uuid",
		"example.com/type",
	})
	assert.Equal(t, "time", s.ref("time"))
	assert.Equal(t, "time2", s.ref("example.com/a/time"), "sorted first, so numbered first")
	assert.Equal(t, "time3", s.ref("example.com/b/time"))
	assert.Equal(t, "yaml", s.ref("gopkg.in/yaml.v3"))
	assert.Equal(t, "mod", s.ref("example.com/mod/v2"))
	assert.Equal(t, "kit", s.ref("example.com/go-kit"))
	assert.Equal(t, "string2", s.ref("example.com/string"), "never shadows a predeclared identifier")
	assert.Equal(t, "hasdots", s.ref("example.com/x/Has.Dots"))
	assert.Equal(t, "uuid", s.ref("github.com/google/uuid"), "a fixed import keeps its name")
	assert.Equal(t, "pkgtype", s.ref("example.com/type"), "never a keyword")
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "services", suggest("service", []string{"version", "services"}))
	assert.Equal(t, "", suggest("colour", []string{"kind", "payload"}))
	assert.Equal(t, "v1.user.signup", suggest("v1.user.signpu", []string{"v1.user.signedup", "v1.user.signup"}))
	assert.Equal(t, "", suggest(strings.Repeat("a", 2000), []string{strings.Repeat("a", 2001)}), "past the longest topic name, no suggestion")
}

// levenshtein is the textbook distance, to check boundedDistance against.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func TestBoundedDistance(t *testing.T) {
	t.Parallel()
	words := []string{"", "a", "ab", "ba", "abc", "kitten", "sitting", "services", "service", "version", "v1.user.signup", "v1.user.signedup", "aaaa", "aaab", "baaa"}
	for _, a := range words {
		for _, b := range words {
			want := levenshtein(a, b)
			for k := 0; k <= 3; k++ {
				assert.Equal(t, min(want, k+1), boundedDistance(a, b, k), "%q %q k=%d", a, b, k)
			}
		}
	}
}
