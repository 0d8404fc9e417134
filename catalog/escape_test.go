package catalog

import (
	goparser "go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileText holds one of every character catalog text must not hold.
const hostileText = "a\x00b\x07c\x1b[2Jd\re\x7ff\u0085g\u009bh\u061ci\u200ej\u200fk\u202al\u202bm\u202cn\u202do\u202ep\u2066q\u2067r\u2068s\u2069t\u2028u\u2029v\ufeffw\xffx"

func TestEscapeUnsafe(t *testing.T) {
	t.Parallel()
	got := escapeUnsafe(hostileText+"\ty\nz", false)
	assert.Equal(t, `a\x00b\x07c\x1b[2Jd\x0de\x7ff\u0085g\u009bh\u061ci\u200ej\u200fk\u202al\u202bm\u202cn\u202do\u202ep\u2066q\u2067r\u2068s\u2069t\u2028u\u2029v\ufeffw\xffx\x09y\x0az`, got)
	assert.Equal(t, "tab\tand\nline feed stay", escapeUnsafe("tab\tand\nline feed stay", true))
	assert.Equal(t, "Créer 用户 مرحبا 👩‍💻 �", escapeUnsafe("Créer 用户 مرحبا 👩‍💻 �", false), "other text is left alone")
}

// TestGoCommentsStayComments writes hostile text with the generator's own
// comment writer: whatever it holds, the file parses, the text stays in
// comments, and no unsafe character is left.
func TestGoCommentsStayComments(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("package p\n\n")
	writeDoc(&b, "", "First.\n"+hostileText+"\n*/ func evil() {}\r\nx\u2028func evil2() {}")
	b.WriteString("type T struct {\n")
	writeDoc(&b, "\t", hostileText)
	b.WriteString("\tF int\n}\n")
	src := b.String()
	_, err := goparser.ParseFile(token.NewFileSet(), "p.go", src, goparser.ParseComments)
	require.NoError(t, err, src)
	_, _, found := unsafeIn(src, true)
	assert.False(t, found, src)
	assert.NotContains(t, src, "\nfunc")
}

func TestSourceName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "catalog.yaml", sourceName("api/catalog.yaml"))
	assert.Equal(t, `"cat\nfunc init() {}"`, sourceName("api/cat\nfunc init() {}"))
	assert.Equal(t, `"cat\u202e.yaml"`, sourceName("cat\u202e.yaml"))
}

func TestOutputSizeErrorEscapesTheFileName(t *testing.T) {
	t.Parallel()
	err := checkOutputSize(&Catalog{File: "big\n\u202e.yaml"}, "Go code", MaxOutputSize+1)
	assert.Contains(t, err.Error(), `generated from big\x0a\u202e.yaml would be`)
}

func TestGraphQuotesAreSafe(t *testing.T) {
	t.Parallel()
	// In DOT a backslash is written \\, so the escapes show as typed.
	assert.Equal(t, `"a\\\"b\\x0a\\u202ec"`, dotQuote("a\\\"b\n\u202ec"))
	assert.Equal(t, `"a#quot;b\x0a\u202ec"`, mermaidQuote("a\"b\n\u202ec"))
}
