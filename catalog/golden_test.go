package catalog_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCatalogs are the inputs of the golden tests, in testdata/.
var goldenCatalogs = []string{"kitchen", "minimal"}

// checkGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./catalog -update` to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, run `go test ./catalog -update`", path)
}

func loadTestdata(t *testing.T, name string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load(filepath.Join("testdata", name+".yaml"))
	require.NoError(t, err)
	return c
}

func TestGoldenGo(t *testing.T) {
	for _, name := range goldenCatalogs {
		c := loadTestdata(t, name)
		src, err := catalog.GenerateGo(c)
		require.NoError(t, err)
		again, err := catalog.GenerateGo(loadTestdata(t, name))
		require.NoError(t, err)
		require.Equal(t, src, again, "output must be stable from run to run")
		assert.True(t, bytes.HasPrefix(src, []byte(catalog.GeneratedHeader+"\n")))
		checkGolden(t, name+".go", src)
	}
}

func TestGoldenGraphs(t *testing.T) {
	for _, name := range goldenCatalogs {
		c := loadTestdata(t, name)
		for _, f := range []catalog.GraphFormat{catalog.GraphMermaid, catalog.GraphDot} {
			g, err := catalog.GenerateGraph(c, f)
			require.NoError(t, err)
			checkGolden(t, name+"."+string(f), g)
		}
	}
}

func TestGoldenAsyncAPI(t *testing.T) {
	for _, name := range goldenCatalogs {
		c := loadTestdata(t, name)
		for _, s := range c.Services {
			doc, err := catalog.GenerateAsyncAPI(c, s.Name)
			require.NoError(t, err)
			checkGolden(t, name+"."+catalog.AsyncAPIFileName(s.Name, false), doc)
		}
	}
	c := loadTestdata(t, "kitchen")
	doc, err := catalog.GenerateAsyncAPI(c, "orders", catalog.WithJSON(), catalog.WithNamespace("prod"),
		catalog.WithServer("nats.example.com:4222"), catalog.WithInfoVersion("2.1.0"))
	require.NoError(t, err)
	require.True(t, json.Valid(doc))
	checkGolden(t, "kitchen.prod."+catalog.AsyncAPIFileName("orders", true), doc)
}

func TestGoldenLint(t *testing.T) {
	for _, name := range goldenCatalogs {
		var b strings.Builder
		for _, d := range catalog.Lint(loadTestdata(t, name)) {
			b.WriteString(d.String() + "\n")
		}
		checkGolden(t, name+".lint", []byte(b.String()))
	}
}

// TestGeneratedGoCompiles builds every golden Go file as a package of this
// module with the go tool: the files are mapped into a directory that does
// not exist on disk with -overlay, so nothing is written to the source tree.
func TestGeneratedGoCompiles(t *testing.T) {
	if *update {
		t.Skip("golden files are being rewritten; run again without -update")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	_, err := os.Stat(goTool)
	require.NoError(t, err, "the go tool is needed to compile generated code")

	tmp := t.TempDir()
	virtual, err := filepath.Abs(filepath.Join("internal", "compilecheck"))
	require.NoError(t, err)
	replace := map[string]string{}
	var pkgs []string
	for _, name := range goldenCatalogs {
		dir := filepath.Join(virtual, name)
		replace[filepath.Join(dir, "gen.go")] = filepath.Join("testdata", "golden", name+".go")
		pkgs = append(pkgs, "./internal/compilecheck/"+name)
	}
	// kitchen.yaml uses a type declared next to the generated file.
	local := filepath.Join(tmp, "local.go")
	require.NoError(t, os.WriteFile(local, []byte("package shop\n\ntype LegacyOrder struct{ ID string }\n"), 0o644))
	replace[filepath.Join(virtual, "kitchen", "local.go")] = local
	for k, v := range replace {
		abs, err := filepath.Abs(v)
		require.NoError(t, err)
		replace[k] = abs
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	require.NoError(t, err)
	overlayPath := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(overlayPath, overlay, 0o644))

	cmd := exec.Command(goTool, append([]string{"build", "-overlay", overlayPath}, pkgs...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "generated code does not compile:\n%s", out)
}
