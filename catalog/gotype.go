package catalog

import (
	"errors"
	"fmt"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// parseGoTypeRef splits a "type:" value into import path and type name:
// "example.com/mod/pkg.Name" -> ("example.com/mod/pkg", "Name"). A bare
// "Name" refers to a type declared in the generated package itself and has
// an empty path.
func parseGoTypeRef(s string) (path, name string, err error) {
	slash := strings.LastIndex(s, "/")
	dot := strings.LastIndex(s[slash+1:], ".")
	if dot < 0 {
		if slash >= 0 {
			return "", "", fmt.Errorf("%q has no type name; write import/path.TypeName, e.g. example.com/mod/pkg.Name", s)
		}
		if !token.IsIdentifier(s) {
			return "", "", fmt.Errorf("%q is not a Go type name; write import/path.TypeName, or a type name declared next to the generated file", s)
		}
		return "", s, nil
	}
	path, name = s[:slash+1+dot], s[slash+1+dot+1:]
	if !token.IsIdentifier(name) || !token.IsExported(name) {
		return "", "", fmt.Errorf("%q: %q is not an exported Go type name; write import/path.TypeName", s, name)
	}
	if err := checkImportPath(path); err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return path, name, nil
}

// checkImportPath accepts the import paths Go modules allow, leniently: path
// elements of letters, digits and -._~+ separated by single slashes.
func checkImportPath(path string) error {
	if path == "" {
		return errors.New("empty import path")
	}
	for _, elem := range strings.Split(path, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("import path %q has an empty, . or .. element", path)
		}
		for _, r := range elem {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+", r)
			if !ok {
				return fmt.Errorf("import path %q contains %q", path, r)
			}
		}
	}
	return nil
}

// importSet assigns every imported package of a generated file a unique,
// deterministic name. Packages given by "type:" always get an explicit
// alias, because the package name need not match the last path element.
type importSet struct {
	std      []string          // standard library paths, imported by name
	other    []string          // non-standard paths
	alias    map[string]string // path -> explicit alias ("" = none)
	reserved map[string]bool
}

// fixedImports are the packages generated code may import by their own
// names. Their names are reserved against aliases of user packages.
var fixedImports = map[string]string{
	"time":                               "time",
	"github.com/google/uuid":             "uuid",
	"github.com/choreo-bus/choreo/topic": "topic",
}

func newImportSet() *importSet {
	s := &importSet{alias: map[string]string{}, reserved: map[string]bool{}}
	for _, name := range fixedImports {
		s.reserved[name] = true
	}
	return s
}

// addFixed imports one of fixedImports.
func (s *importSet) addFixed(path string) {
	if _, ok := s.alias[path]; ok {
		return
	}
	s.alias[path] = ""
	if path == "time" {
		s.std = append(s.std, path)
	} else {
		s.other = append(s.other, path)
	}
}

// assign gives each user path (sorted for determinism) an alias derived
// from its last meaningful element, numbered when taken.
func (s *importSet) assign(paths []string) {
	sort.Strings(paths)
	for _, p := range paths {
		if _, done := s.alias[p]; done {
			continue
		}
		if _, fixed := fixedImports[p]; fixed {
			s.addFixed(p)
			continue
		}
		base := aliasBase(p)
		alias := base
		for i := 2; s.reserved[alias] || isPredeclared(alias); i++ {
			alias = base + strconv.Itoa(i)
		}
		s.reserved[alias] = true
		s.alias[p] = alias
		if isStdPath(p) {
			s.std = append(s.std, p)
		} else {
			s.other = append(s.other, p)
		}
	}
}

// ref returns how generated code names the package at path.
func (s *importSet) ref(path string) string {
	if a := s.alias[path]; a != "" {
		return a
	}
	if name, ok := fixedImports[path]; ok {
		return name
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// write emits the import block: standard library first, then the rest, each
// group sorted as gofmt would.
func (s *importSet) write(b *strings.Builder) {
	sort.Strings(s.std)
	sort.Strings(s.other)
	b.WriteString("import (\n")
	for i, group := range [][]string{s.std, s.other} {
		if i > 0 && len(s.std) > 0 && len(group) > 0 {
			b.WriteString("\n")
		}
		for _, p := range group {
			// A standard package is named after its last element; any other
			// package may not be, so it always gets its alias spelled out.
			if a := s.alias[p]; a != "" && (a != p[strings.LastIndex(p, "/")+1:] || !isStdPath(p)) {
				fmt.Fprintf(b, "\t%s %q\n", a, p)
			} else {
				fmt.Fprintf(b, "\t%q\n", p)
			}
		}
	}
	b.WriteString(")\n\n")
}

// aliasBase derives a package alias from an import path: the last element
// that is not a major version (v2), stripped of a ".v3" suffix and a "go-"
// prefix, lower-cased, with non-identifier characters removed.
func aliasBase(path string) string {
	elems := strings.Split(path, "/")
	last := elems[len(elems)-1]
	if len(elems) > 1 && isMajorVersion(last) {
		last = elems[len(elems)-2]
	}
	if i := strings.LastIndex(last, ".v"); i > 0 && isMajorVersion(last[i+1:]) {
		last = last[:i]
	}
	last = strings.TrimPrefix(strings.ToLower(last), "go-")
	var b strings.Builder
	for _, r := range last {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || token.IsKeyword(b.String()) {
		return "pkg" + b.String()
	}
	return b.String()
}

func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	_, err := strconv.Atoi(s[1:])
	return err == nil
}

// isStdPath reports whether path looks like the standard library's: no dot
// in its first element.
func isStdPath(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// isPredeclared reports Go's predeclared identifiers, which an alias must
// not shadow because generated code uses them (string, bool, ...).
func isPredeclared(s string) bool {
	switch s {
	case "any", "bool", "byte", "comparable", "complex64", "complex128", "error",
		"float32", "float64", "int", "int8", "int16", "int32", "int64", "rune",
		"string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
		"true", "false", "iota", "nil", "append", "cap", "clear", "close",
		"complex", "copy", "delete", "imag", "len", "make", "max", "min", "new",
		"panic", "print", "println", "real", "recover":
		return true
	}
	return false
}
