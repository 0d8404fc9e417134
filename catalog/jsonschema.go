package catalog

import (
	"go.yaml.in/yaml/v3"
)

// The JSON Schema the generators emit describes the JSON that the generated
// Go structs produce with encoding/json, so that a consumer written in any
// language can rely on it:
//
//	string   {type: string}
//	int      {type: integer}
//	int32    {type: integer, format: int32}
//	int64    {type: integer, format: int64}
//	float64  {type: number, format: double}
//	bool     {type: boolean}
//	time     {type: string, format: date-time}           RFC 3339, as time.Time encodes
//	bytes    {type: string, contentEncoding: base64}     as []byte encodes
//	uuid     {type: string, format: uuid}                as uuid.UUID encodes
//	[]T      {type: array, items: T}
//	map[string]T {type: object, additionalProperties: T}
//
// A required field is listed under "required". A required list, map or
// bytes field may still be null (a nil Go slice encodes as null), so its
// type also admits "null". An optional field (T?) is omitted when empty and
// is never null.

// baseSchema returns the schema of one base-typed value.
func baseSchema(b baseType) *yaml.Node {
	switch b {
	case baseString:
		return obj("type", "string")
	case baseInt:
		return obj("type", "integer")
	case baseInt32:
		return obj("type", "integer", "format", "int32")
	case baseInt64:
		return obj("type", "integer", "format", "int64")
	case baseFloat64:
		return obj("type", "number", "format", "double")
	case baseBool:
		return obj("type", "boolean")
	case baseTime:
		return obj("type", "string", "format", "date-time")
	case baseBytes:
		return obj("type", "string", "contentEncoding", "base64")
	case baseUUID:
		return obj("type", "string", "format", "uuid")
	}
	panic("catalog: unknown base type")
}

// fieldSchema returns the schema of a payload field.
func fieldSchema(f *Field) *yaml.Node {
	ft := f.typ
	var s *yaml.Node
	switch ft.container {
	case list:
		s = obj("type", "array", "items", baseSchema(ft.base))
	case dict:
		s = obj("type", "object", "additionalProperties", baseSchema(ft.base))
	default:
		s = baseSchema(ft.base)
	}
	if ft.nilable() && !ft.optional {
		// s.Content[1] is the value of "type", always the first key.
		s.Content[1] = strs(s.Content[1].Value, "null")
	}
	if f.Description != "" {
		set(s, "description", f.Description)
	}
	return s
}

// payloadSchema returns the schema of a topic's payload.
func payloadSchema(t *Topic) *yaml.Node {
	if t.GoType != "" {
		// The JSON form of an existing Go type is up to that type; say
		// where it comes from so readers can look it up.
		return obj(
			"description", "JSON encoding of the Go type "+t.GoType+".",
			"x-go-type", t.GoType,
		)
	}
	s := obj("type", "object")
	if t.Description != "" {
		set(s, "description", t.Description)
	}
	var required []string
	props := obj()
	for _, f := range t.Fields {
		set(props, f.Name, fieldSchema(f))
		if !f.typ.optional {
			required = append(required, f.Name)
		}
	}
	if len(required) > 0 {
		set(s, "required", required)
	}
	set(s, "properties", props)
	return s
}
