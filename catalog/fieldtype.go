package catalog

import (
	"errors"
	"fmt"
	"strings"
)

// errFieldType is wrapped by every field type parse error.
var errFieldType = errors.New("unknown field type")

// baseType is a scalar field type of the catalog.
type baseType uint8

const (
	baseString baseType = iota + 1
	baseInt
	baseInt32
	baseInt64
	baseFloat64
	baseBool
	baseTime
	baseBytes
	baseUUID
)

// baseTypes maps catalog spelling to base type, in documentation order.
var baseTypes = []struct {
	name string
	base baseType
}{
	{"string", baseString}, {"int", baseInt}, {"int32", baseInt32}, {"int64", baseInt64},
	{"float64", baseFloat64}, {"bool", baseBool}, {"time", baseTime}, {"bytes", baseBytes},
	{"uuid", baseUUID},
}

// typeHints answers spellings people commonly reach for.
var typeHints = map[string]string{
	"str": "string", "text": "string", "integer": "int64", "long": "int64", "uint": "int64",
	"uint64": "int64", "uint32": "int64", "float": "float64", "float32": "float64",
	"double": "float64", "number": "float64", "boolean": "bool", "datetime": "time",
	"timestamp": "time", "date": "time", "time.time": "time", "[]byte": "bytes",
	"binary": "bytes", "guid": "uuid", "uuid.uuid": "uuid",
}

// container says whether a field holds one value, a list or a map.
type container uint8

const (
	single container = iota
	list
	dict
)

// fieldType is a parsed catalog field type such as "[]int64?".
type fieldType struct {
	base      baseType
	container container
	optional  bool
}

// parseFieldType parses base, []base or map[string]base, each optionally
// followed by "?" for an optional field.
func parseFieldType(s string) (fieldType, error) {
	var ft fieldType
	text := strings.TrimSpace(s)
	if rest, ok := strings.CutSuffix(text, "?"); ok {
		ft.optional, text = true, rest
	}
	switch {
	case strings.HasPrefix(text, "*"):
		return ft, fmt.Errorf("%w %q: write %s? for an optional field instead of a pointer", errFieldType, s, strings.TrimPrefix(text, "*"))
	case strings.HasPrefix(text, "[]"):
		ft.container, text = list, text[2:]
	case strings.HasPrefix(text, "map["):
		key, elem, ok := strings.Cut(text[len("map["):], "]")
		if !ok || key != "string" {
			return ft, fmt.Errorf("%w %q: maps must have string keys, as in map[string]int64", errFieldType, s)
		}
		ft.container, text = dict, elem
	}
	for _, b := range baseTypes {
		if b.name == text {
			ft.base = b.base
			return ft, nil
		}
	}
	if strings.HasPrefix(text, "[]") || strings.HasPrefix(text, "map[") {
		return ft, fmt.Errorf("%w %q: lists and maps hold one of the base types (%s), not other lists or maps", errFieldType, s, baseTypeList())
	}
	hint := typeHints[strings.ToLower(text)]
	if hint == "" {
		hint = suggest(text, baseTypeNames())
	}
	if hint != "" {
		return ft, fmt.Errorf("%w %q (did you mean %q?); field types are %s, []T, map[string]T and T? for optional", errFieldType, s, strings.Replace(s, text, hint, 1), baseTypeList())
	}
	return ft, fmt.Errorf("%w %q; field types are %s, []T, map[string]T and T? for optional", errFieldType, s, baseTypeList())
}

func baseTypeNames() []string {
	names := make([]string, len(baseTypes))
	for i, b := range baseTypes {
		names[i] = b.name
	}
	return names
}

func baseTypeList() string { return strings.Join(baseTypeNames(), " ") }

// String returns the canonical catalog spelling of ft.
func (ft fieldType) String() string {
	s := baseTypeNames()[ft.base-1]
	switch ft.container {
	case list:
		s = "[]" + s
	case dict:
		s = "map[string]" + s
	}
	if ft.optional {
		s += "?"
	}
	return s
}

// goBase returns the Go spelling of a base type.
func (b baseType) goBase() string {
	switch b {
	case baseTime:
		return "time.Time"
	case baseBytes:
		return "[]byte"
	case baseUUID:
		return "uuid.UUID"
	default:
		return baseTypeNames()[b-1]
	}
}

// goType returns the Go type of the struct field. Optional single values
// become pointers so that "absent" differs from the zero value; lists, maps
// and bytes are nil when absent already and stay as they are.
func (ft fieldType) goType() string {
	s := ft.base.goBase()
	switch ft.container {
	case list:
		return "[]" + s
	case dict:
		return "map[string]" + s
	}
	if ft.optional && ft.base != baseBytes {
		return "*" + s
	}
	return s
}

// nilable reports whether the Go value of ft can be nil, which encoding/json
// writes as null unless the field is omitempty.
func (ft fieldType) nilable() bool {
	return ft.container != single || ft.base == baseBytes
}
