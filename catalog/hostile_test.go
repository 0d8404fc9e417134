package catalog_test

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog"
)

// unsafeChars are the characters no generated file may contain: line and
// paragraph separators, NEXT LINE, bidirectional controls, the byte-order
// mark, NUL and the other control characters except tab and line feed.
func unsafeChars(s string) []rune {
	var found []rune
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n':
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f,
			r == 0x2028 || r == 0x2029 || r == 0xfeff,
			r == 0x061c || r == 0x200e || r == 0x200f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			found = append(found, r)
		}
	}
	return found
}

// TestParseRejectsHostileCharacters is the table of the Trojan Source and
// control-character probes: each catalog must be refused with the position
// of the character and the rule that says why.
func TestParseRejectsHostileCharacters(t *testing.T) {
	t.Parallel()
	const head = "version: 1\ntopics:\n"
	tests := []struct {
		name      string
		src       string
		line, col int
		want      string
	}{
		// Characters written as they are, found by position in the file.
		{"RLO in a description", head + "  v1.user.signup:\n    description: Create \u202eresu a.\n", 4, 25, "U+202E (RIGHT-TO-LEFT OVERRIDE)"},
		{"LRI in a topic name", head + "  v1.user.sign\u2066up: {}\n", 3, 15, "U+2066 (LEFT-TO-RIGHT ISOLATE)"},
		{"RLM in a field name", head + "  v1.user.signup:\n    payload: {em\u200fail: string}\n", 4, 17, "RIGHT-TO-LEFT MARK"},
		{"ALM in a service name", head + "  v1.user.signup: {}\nservices:\n  w\u061ceb: {sends: [v1.user.signup]}\n", 5, 4, "ARABIC LETTER MARK"},
		{"LINE SEPARATOR in a service description", head + "  v1.user.signup: {}\nservices:\n  web:\n    description: a\u2028b\n", 6, 19, "U+2028 (LINE SEPARATOR)"},
		{"PARAGRAPH SEPARATOR in a comment", "# a\u2029b\n" + head + "  v1.user.signup: {}\n", 1, 4, "U+2029 (PARAGRAPH SEPARATOR)"},
		{"NEL in a field description", head + "  v1.user.signup:\n    payload:\n      email: {type: string, description: a\u0085b}\n", 5, 43, "U+0085 (NEXT LINE)"},
		{"BOM in the middle", head + "  v1.user.signup:\n    description: a\ufeffb\n", 4, 19, "U+FEFF (BYTE ORDER MARK)"},
		{"NUL", head + "  v1.user.signup:\n    description: a\x00b\n", 4, 19, "U+0000 (NUL)"},
		{"DEL", head + "  v1.user.signup:\n    description: a\x7fb\n", 4, 19, "U+007F, a control character"},
		{"C1 control", head + "  v1.user.signup:\n    description: a\u009bb\n", 4, 19, "U+009B, a control character"},
		{"ESC", head + "  v1.user.signup:\n    description: \x1b[2Jb\n", 4, 18, "U+001B, a control character"},
		{"lone carriage return", head + "  v1.user.signup:\n    description: all good\rbad\n", 4, 26, "CARRIAGE RETURN"},
		{"invalid UTF-8", head + "  v1.user.signup:\n    description: a\xffb\n", 4, 19, "byte 0xff is not valid UTF-8"},
		{"UTF-16", "\xff\xfev\x00", 1, 1, "UTF-16"},
		// Characters written as escapes in double quotes, found by the
		// position of the value and their place in it.
		{"escaped RLO", head + "  v1.user.signup:\n    description: \"Create \\u202eresu\"\n", 4, 18, "character 8 of the value is U+202E"},
		{"escaped NUL", head + "  v1.user.signup:\n    description: \"a\\0b\"\n", 4, 18, "character 2 of the value is U+0000 (NUL)"},
		{"escaped BOM", head + "  v1.user.signup:\n    description: \"\\uFEFF\"\n", 4, 18, "U+FEFF (BYTE ORDER MARK)"},
		{"escaped LINE SEPARATOR", head + "  v1.user.signup:\n    description: \"a\\Lb\"\n", 4, 18, "U+2028"},
		{"escaped NEL", head + "  v1.user.signup:\n    description: \"a\\Nb\"\n", 4, 18, "U+0085"},
		{"escaped bell", head + "  v1.user.signup:\n    description: \"a\\ab\"\n", 4, 18, "U+0007"},
		{"escaped newline in a topic name", head + "  \"v1.user.sign\\nup\": {}\n", 3, 3, "U+000A (LINE FEED), which a name or a one-line value cannot hold"},
		{"escaped tab in a field type", head + "  v1.user.signup:\n    payload: {email: \"string\\t\"}\n", 4, 22, "U+0009 (TAB)"},
		{"escaped newline in a package", "version: 1\npackage: \"topics\\n//go:generate rm -rf /\"\ntopics: {}\n", 2, 10, "LINE FEED"},
		{"escaped RLI in a service list", head + "  v1.user.signup: {}\nservices:\n  web: {sends: [\"v1.user.signup\\u2067\"]}\n", 5, 17, "U+2067"},
		{"escaped PDF in a Go type", head + "  v1.user.signup: {type: \"example.com/x.T\\u202c\"}\n", 3, 26, "U+202C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := catalog.Parse("cat.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, catalog.ErrInvalid)
			var invalid *catalog.Error
			require.ErrorAs(t, err, &invalid)
			d := invalid.Diagnostics[0]
			assert.Equal(t, catalog.RuleCharacter, d.Rule, "%v", err)
			assert.Equal(t, [2]int{tt.line, tt.col}, [2]int{d.Line, d.Column}, "%v", err)
			assert.Contains(t, d.Message, tt.want)
			assert.Empty(t, unsafeChars(err.Error()), "the error itself shows the character as an escape")
			assert.NotContains(t, strings.TrimSuffix(d.String(), "\n"), "\n")
		})
	}
}

func TestParseAcceptsTextThatIsFine(t *testing.T) {
	t.Parallel()
	src := "\ufeff# A leading byte-order mark, CRLF line ends, tabs and any language are fine.\r\n" +
		"version: 1\r\ntopics:\r\n  v1.user.signup:\r\n" +
		"    description: \"Créer un compte\\tutilisateur. 用户注册. مرحبا. 👩‍💻\"\r\n" +
		"    payload:\r\n      email:\r\n        type: string\r\n        description: |\r\n          Line one.\r\n          \tIndented line two.\r\n"
	c, err := catalog.Parse("cat.yaml", []byte(src))
	require.NoError(t, err)
	assert.Contains(t, c.Topic("v1.user.signup").Description, "مرحبا")
	assert.Equal(t, "Line one.\n\tIndented line two.\n", c.Topic("v1.user.signup").Fields[0].Description)
}

func TestParseReportsTheFirstBadCharacters(t *testing.T) {
	t.Parallel()
	src := "version: 1\ntopics:\n  v1.user.signup:\n    description: " + strings.Repeat("\u202e", 5000) + "\n"
	_, err := catalog.Parse("cat.yaml", []byte(src))
	var invalid *catalog.Error
	require.ErrorAs(t, err, &invalid)
	require.Len(t, invalid.Diagnostics, 21, "20 positions and a count of the rest")
	assert.Contains(t, invalid.Diagnostics[0].Message, "more characters like these")
	assert.Contains(t, invalid.Diagnostics[0].Message, "4980")
	assert.Equal(t, 18, invalid.Diagnostics[1].Column)
}

// TestLintChecksCharactersOfHandBuiltCatalogs covers a Catalog that did not
// come from Parse: Lint and Validate still refuse its hostile strings, so
// the generators never take them on trust.
func TestLintChecksCharactersOfHandBuiltCatalogs(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.user.signup:\n    payload: {email: string}\nservices:\n  web: {sends: [v1.user.signup]}\n  accounts: {handles: [v1.user.signup]}\n")
	c.Topics[0].Description = "Create a user.\x00"
	c.Topics[0].Fields[0].Description = "Address \u2028 // trailing"
	c.Services[0].Description = "\u202eevil"

	ds := catalog.Lint(c)
	var rules []string
	for _, d := range ds {
		if d.Rule == catalog.RuleCharacter {
			rules = append(rules, d.String())
		}
	}
	require.Len(t, rules, 3, "%v", ds)
	assert.Contains(t, rules[0], "cat.yaml:3: topic v1.user.signup: description: character 15 is U+0000 (NUL)")
	assert.Contains(t, rules[1], "cat.yaml:4: topic v1.user.signup: field email: description: character 9 is U+2028")
	assert.Contains(t, rules[2], "cat.yaml:7: service accounts: description: character 1 is U+202E")

	err := catalog.Validate(c)
	assert.ErrorIs(t, err, catalog.ErrInvalid)
	_, err = catalog.GenerateGo(c)
	assert.ErrorIs(t, err, catalog.ErrInvalid, "refused, not a 'please report this as a choreo bug'")
	assert.NotContains(t, err.Error(), "choreo bug")
	_, err = catalog.GenerateAsyncAPI(c, "web")
	assert.ErrorIs(t, err, catalog.ErrInvalid)
	_, err = catalog.GenerateGraph(c, catalog.GraphDot)
	assert.ErrorIs(t, err, catalog.ErrInvalid)
}

// TestGeneratedOutputIgnoresHostileFileNames feeds a valid catalog under file
// names built to inject code into the generated header or hide in it.
func TestGeneratedOutputIgnoresHostileFileNames(t *testing.T) {
	t.Parallel()
	src := []byte("version: 1\ntopics:\n  v1.user.signup: {payload: {email: string}}\nservices:\n  web: {sends: [v1.user.signup]}\n  accounts: {handles: [v1.user.signup]}\n")
	names := []string{
		"catalog.yaml\npackage evil\n\nfunc init() { panic(1) }\n//",
		"dir/cat\r\n//go:generate rm -rf /\r\n.yaml",
		"cat\u202e\u2066lmay.yaml",
		"cat\u2028alog\u0085.yaml",
		"cat\x00\ufeff.yaml",
		"cat\xff.yaml",
	}
	for _, name := range names {
		c, err := catalog.Parse(name, src)
		require.NoError(t, err, "%q", name)

		gen, err := catalog.GenerateGo(c)
		require.NoError(t, err, "%q", name)
		assert.Empty(t, unsafeChars(string(gen)), "%q", name)
		lines := strings.Split(string(gen), "\n")
		assert.Equal(t, catalog.GeneratedHeader, lines[0])
		assert.True(t, strings.HasPrefix(lines[1], `// Source: "`), "%q: the name is quoted on the header line: %q", name, lines[1])
		assert.Equal(t, "", lines[2], "%q: nothing injected after the header", name)
		assert.Equal(t, "package topics", lines[3])
		f, err := parser.ParseFile(token.NewFileSet(), "gen.go", gen, parser.ParseComments)
		require.NoError(t, err, "%q: generated Go parses", name)
		assert.Equal(t, "topics", f.Name.Name)
		assert.Len(t, f.Decls, 4, "%q: import, const, struct and typed topic, nothing more", name)

		for _, opt := range [][]catalog.AsyncAPIOption{nil, {catalog.WithJSON()}} {
			doc, err := catalog.GenerateAsyncAPI(c, "web", opt...)
			require.NoError(t, err)
			assert.Empty(t, unsafeChars(string(doc)), "%q", name)
		}
		for _, f := range []catalog.GraphFormat{catalog.GraphMermaid, catalog.GraphDot} {
			g, err := catalog.GenerateGraph(c, f)
			require.NoError(t, err)
			assert.Empty(t, unsafeChars(string(g)), "%q", name)
		}
		for _, d := range catalog.Lint(c) {
			assert.NotContains(t, d.String(), "\n", "%q: one line per finding", name)
			assert.Empty(t, unsafeChars(d.String()), "%q", name)
		}
	}
}

// TestAsyncAPIEscapesOptionText covers the values an API caller passes in:
// they reach the document only as escapes.
func TestAsyncAPIEscapesOptionText(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "version: 1\ntopics:\n  v1.user.signup: {}\nservices:\n  web: {sends: [v1.user.signup]}\n  accounts: {handles: [v1.user.signup]}\n")
	doc, err := catalog.GenerateAsyncAPI(c, "web", catalog.WithInfoVersion("1.0\u202e"), catalog.WithServer("nats\x1b[2J:4222"))
	require.NoError(t, err)
	assert.Empty(t, unsafeChars(string(doc)))
	assert.Contains(t, string(doc), `1.0\u202e`)
}

func TestDiagnosticStringIsOneSafeLine(t *testing.T) {
	t.Parallel()
	d := catalog.Diagnostic{File: "c\n.yaml", Line: 3, Column: 7, Severity: catalog.SeverityError, Message: "topic \u202efoo\r\nfake.yaml:1: all good"}
	assert.Equal(t, `c\x0a.yaml:3:7: topic \u202efoo\x0d\x0afake.yaml:1: all good`, d.String())
}
