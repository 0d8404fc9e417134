package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// A catalog is source code: its strings end up in generated Go comments and
// identifiers, AsyncAPI documents, graphs and terminal output. Characters
// that display differently from what they are (Trojan Source: bidirectional
// controls), that some tools read as line breaks and others do not (U+2028,
// U+2029, U+0085), or that break tools outright (NUL, other control
// characters, a byte-order mark in the middle of text) have no place in it.
// Parse rejects them with their position; Lint and Validate reject them in a
// Catalog built by hand; and the generators escape any that still reach
// them, so generated output never contains one.

// unsafeRune says why r must not appear in catalog text, or returns "" when
// r is fine. Tab and line feed are left to the caller: they are fine in a
// description and in the file, but not in a name.
func unsafeRune(r rune) string {
	switch {
	case r == '\t' || r == '\n':
		return ""
	case r == 0:
		return "U+0000 (NUL), a control character"
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf("%U, a control character", r)
	case r == 0x85:
		return "U+0085 (NEXT LINE), a line break that YAML honours and Go and most editors do not"
	case r >= 0x80 && r <= 0x9f:
		return fmt.Sprintf("%U, a control character", r)
	case r == 0x2028:
		return "U+2028 (LINE SEPARATOR), a line break that YAML honours and Go and most editors do not"
	case r == 0x2029:
		return "U+2029 (PARAGRAPH SEPARATOR), a line break that YAML honours and Go and most editors do not"
	case r == 0xfeff:
		return "U+FEFF (BYTE ORDER MARK), which is allowed only as the very first character of the file"
	}
	if r < 0x061c || r > 0x2069 {
		return ""
	}
	if name, ok := bidiControls[r]; ok {
		return fmt.Sprintf("%U (%s), a bidirectional control that can make text display in another order than it is read (Trojan Source)", r, name)
	}
	return ""
}

// bidiControls are the Unicode formatting characters that change the
// display order of text.
var bidiControls = map[rune]string{
	0x061c: "ARABIC LETTER MARK",
	0x200e: "LEFT-TO-RIGHT MARK",
	0x200f: "RIGHT-TO-LEFT MARK",
	0x202a: "LEFT-TO-RIGHT EMBEDDING",
	0x202b: "RIGHT-TO-LEFT EMBEDDING",
	0x202c: "POP DIRECTIONAL FORMATTING",
	0x202d: "LEFT-TO-RIGHT OVERRIDE",
	0x202e: "RIGHT-TO-LEFT OVERRIDE",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
}

// unsafeIn returns the offset (in runes) and the reason of the first
// character of s that catalog text must not hold, or found=false. multiline
// allows tab and line feed, as a description may hold them.
func unsafeIn(s string, multiline bool) (index int, why string, found bool) {
	for i := 0; s != ""; i++ {
		if c := s[0]; c >= 0x20 && c < 0x7f {
			s = s[1:] // printable ASCII, nearly all of any catalog
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		why := unsafeRune(r)
		switch {
		case r == utf8.RuneError && size == 1:
			why = fmt.Sprintf("byte 0x%02x, which is not valid UTF-8", s[0])
		case r == '\t' && !multiline:
			why = "U+0009 (TAB), which a name or a one-line value cannot hold"
		case r == '\n' && !multiline:
			why = "U+000A (LINE FEED), which a name or a one-line value cannot hold"
		}
		if why != "" {
			return i, why, true
		}
		s = s[size:]
	}
	return 0, "", false
}

// maxCharProblems caps how many bad characters one Parse reports: the first
// ones show what to fix, and a file full of them would otherwise produce a
// diagnostic per character.
const maxCharProblems = 20

// scanText checks the raw file for characters catalog text must not hold
// and reports each (up to maxCharProblems) at its line and column. It
// returns false when it found any. It runs before YAML parsing so that the
// positions are exact, and so that characters YAML would silently treat as
// line breaks cannot shift the line numbers of later diagnostics.
func (p *parser) scanText(data []byte) bool {
	if len(data) >= 2 && (data[0] == 0xfe && data[1] == 0xff || data[0] == 0xff && data[1] == 0xfe) {
		p.charf(1, 1, "the file is UTF-16; save it as UTF-8")
		return false
	}
	// A leading byte-order mark is harmless: editors on Windows write one
	// and YAML skips it.
	text, _ := strings.CutPrefix(string(data), "\ufeff")
	line, col, found := 1, 1, 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		var why string
		switch {
		case r == utf8.RuneError && size == 1:
			why = fmt.Sprintf("byte 0x%02x is not valid UTF-8; save the file as UTF-8", text[i])
		case r == '\r' && (i+1 == len(text) || text[i+1] != '\n'):
			why = "U+000D (CARRIAGE RETURN) outside a CRLF line ending, which hides the text before it in a terminal"
		case r != '\r':
			why = unsafeRune(r)
		}
		if why != "" {
			found++
			if found <= maxCharProblems {
				p.charf(line, col, "character %s; delete it", why)
			}
		}
		i += size
		col++
		if r == '\n' {
			line, col = line+1, 1
		}
	}
	if found > maxCharProblems {
		p.charf(0, 0, "%d more characters like these; fix the first ones and run again", found-maxCharProblems)
	}
	return found == 0
}

// checkText reports a scalar of the catalog holding a character that
// catalog text must not hold. The raw file passed scanText, so such a
// character was written as an escape ("\u202e") in a double-quoted string.
func (p *parser) checkText(n *yaml.Node, where string, multiline bool) bool {
	i, why, found := unsafeIn(n.Value, multiline)
	if !found {
		return true
	}
	p.charf(n.Line, n.Column, "%s: character %d of the value is %s; remove the escape sequence that produces it", where, i+1, why)
	return false
}

func (p *parser) charf(line, col int, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{
		File: p.file, Line: line, Column: col, Severity: SeverityError, Rule: RuleCharacter,
		Message: fmt.Sprintf(format, args...),
	})
}

// EscapeText returns s on one line, with every line break, control
// character, bidirectional control and byte-order mark written as a Go
// escape (\n, \x00, \u202e) and bytes that are not UTF-8 as \xNN. Use it
// for any untrusted string printed to a terminal or log next to catalog
// diagnostics (Diagnostic.String already applies it), so that the string
// can neither forge lines of output nor display as something it is not.
func EscapeText(s string) string { return escapeUnsafe(s, false) }

// escapeUnsafe returns s with every character catalog text must not hold
// written as a Go escape (\u202e, \x00), and, unless multiline, tab and
// line feed too. The generators pass every catalog string through it, so
// their output never carries such a character even when the Catalog was
// built by hand rather than parsed.
func escapeUnsafe(s string, multiline bool) string {
	if _, _, found := unsafeIn(s, multiline); !found {
		return s
	}
	var b strings.Builder
	for s != "" {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case unsafeRune(r) != "" || !multiline && (r == '\t' || r == '\n'):
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		s = s[size:]
	}
	return b.String()
}

// characters reports strings of the catalog's package and topics that hold
// a character catalog text must not hold. Parse rejects such a file before
// it becomes a Catalog, so this finds them only in a Catalog built or
// changed by hand; it keeps Lint, Validate and the generators from taking
// one on trust.
func (l *linter) characters() {
	l.checkChars(l.c.PackageLine, "package", l.c.Package, false)
	for _, t := range l.c.Topics {
		where := "topic " + t.Name
		l.checkChars(t.Line, "topic name", t.Name, false)
		l.checkChars(t.Line, where+": description", t.Description, true)
		l.checkChars(t.GoTypeLine, where+": type", t.GoType, false)
		for _, f := range t.Fields {
			l.checkChars(f.Line, where+": field name", f.Name, false)
			l.checkChars(f.Line, where+": field "+f.Name+": type", f.Type, false)
			l.checkChars(f.Line, where+": field "+f.Name+": description", f.Description, true)
		}
	}
}

// serviceCharacters is characters for the services section.
func (l *linter) serviceCharacters() {
	for _, s := range l.c.Services {
		l.checkChars(s.Line, "service name", s.Name, false)
		l.checkChars(s.Line, "service "+s.Name+": description", s.Description, true)
		for _, u := range s.Uses {
			l.checkChars(u.Line, "service "+s.Name+": "+string(u.Role), u.Topic, false)
		}
	}
}

func (l *linter) checkChars(line int, where, s string, multiline bool) {
	if i, why, found := unsafeIn(s, multiline); found {
		l.errorf(RuleCharacter, line, "%s: character %d is %s; remove it", where, i+1, why)
	}
}
