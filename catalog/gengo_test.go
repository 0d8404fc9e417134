package catalog_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

func TestGenerateGoIgnoresTopicOrder(t *testing.T) {
	t.Parallel()
	a := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {payload: {email: string, name: string}}\n  v1.user.deleted: {}\n  v1.account.closed: {}\n")
	b := mustParse(t, "version: 1\ntopics:\n  v1.account.closed: {}\n  v1.user.deleted: {}\n  v1.user.signup: {payload: {email: string, name: string}}\n")
	srcA, err := catalog.GenerateGo(a)
	require.NoError(t, err)
	srcB, err := catalog.GenerateGo(b)
	require.NoError(t, err)
	assert.Equal(t, string(srcA), string(srcB))

	// Field order is the file's: it is the struct's and the JSON's order.
	c := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {payload: {name: string, email: string}}\n")
	srcC, err := catalog.GenerateGo(c)
	require.NoError(t, err)
	assert.Less(t, strings.Index(string(srcC), "Name "), strings.Index(string(srcC), "Email "))
}

func TestGenerateGoPackage(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\npackage: events\ntopics:\n  v1.user.deleted: {}\n")
	src, err := catalog.GenerateGo(c)
	require.NoError(t, err)
	assert.Contains(t, string(src), "\npackage events\n")

	src, err = catalog.GenerateGo(c, catalog.WithPackage("other"))
	require.NoError(t, err)
	assert.Contains(t, string(src), "\npackage other\n", "the option beats the catalog")

	_, err = catalog.GenerateGo(c, catalog.WithPackage("not-go"))
	assert.ErrorContains(t, err, `package name "not-go" is not a Go identifier`)
}

func TestGenerateGoRefusesInvalidCatalogs(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"ambiguous verb without kind": "version: 1\ntopics:\n  v1.password.reset: {}\n",
		"bad field type":              "version: 1\ntopics:\n  v1.user.signup: {payload: {n: number}}\n",
		"grammar":                     "version: 1\ntopics:\n  v1.User.signup: {}\n",
		"tense":                       "version: 1\ntopics:\n  v1.user.signup: {kind: event}\n",
	}
	for name, src := range tests {
		_, err := catalog.GenerateGo(mustParse(t, src))
		assert.ErrorIs(t, err, catalog.ErrInvalid, name)
		assert.ErrorContains(t, err, "cat.yaml:", name)
	}
}

func TestGeneratedNames(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.order.item.added: {}\n  v12.api.key.rotate: {}\n")
	added := c.Topic("v1.order.item.added")
	assert.Equal(t, "TopicOrderItemAddedV1", added.ConstName())
	assert.Equal(t, "OrderItemAddedV1", added.StructName())
	assert.Equal(t, "OrderItemAddedV1Event", added.VarName())
	rotate := c.Topic("v12.api.key.rotate")
	assert.Equal(t, "TopicAPIKeyRotateV12", rotate.ConstName())
	assert.Equal(t, "APIKeyRotateV12Command", rotate.VarName())
}
