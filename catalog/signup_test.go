package catalog_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// TestSignupTopicsUpToDate fails when examples/signup/topics/topics.go is
// not what the catalog generates, so CI catches a catalog edited without
// running `go generate ./...` (or a generator change that was not
// regenerated).
func TestSignupTopicsUpToDate(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load("../examples/signup/catalog.yaml")
	require.NoError(t, err)
	want, err := catalog.GenerateGo(c)
	require.NoError(t, err)
	got, err := os.ReadFile("../examples/signup/topics/topics.go")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got),
		"examples/signup/topics/topics.go is stale: run `go generate ./examples/signup/...` and commit the result")
}

// TestSignupCatalogLintsClean keeps the example free of lint errors.
func TestSignupCatalogLintsClean(t *testing.T) {
	t.Parallel()
	c, err := catalog.Load("../examples/signup/catalog.yaml")
	require.NoError(t, err)
	for _, d := range catalog.Lint(c) {
		assert.NotEqual(t, catalog.SeverityError, d.Severity, d.String())
	}
}
