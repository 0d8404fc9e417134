package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file decodes structured content mode: the whole event, data
// included, as one JSON object in the payload (CloudEvents JSON event
// format), announced by a Content-Type of application/cloudevents+json.

const (
	mediaStructured      = "application/cloudevents"
	mediaStructuredJSON  = "application/cloudevents+json"
	mediaStructuredBatch = "application/cloudevents-batch+json"
	mediaJSON            = "application/json"
)

// isStructuredContentType applies the binding's rule for telling the modes
// apart: a Content-Type starting with application/cloudevents, in any letter
// case, means structured mode; anything else means binary mode.
func isStructuredContentType(v string) bool {
	return hasPrefixFold(trimOptionalWhitespace(v), mediaStructured)
}

// mediaType returns the media type of a content type without its
// parameters, trimmed and lower-cased.
func mediaType(contentType string) string {
	if i := strings.IndexByte(contentType, ';'); i >= 0 {
		contentType = contentType[:i]
	}
	return strings.ToLower(strings.TrimSpace(contentType))
}

// isJSONMediaType reports whether a datacontenttype declares JSON data:
// subtype "json" or a "+json" suffix, as the JSON event format defines it.
func isJSONMediaType(contentType string) bool {
	mt := mediaType(contentType)
	slash := strings.IndexByte(mt, '/')
	if slash < 0 {
		return false
	}
	sub := mt[slash+1:]
	return sub == "json" || strings.HasSuffix(sub, "+json")
}

func readStructured(contentType string, body []byte) (*Envelope, error) {
	switch mt := mediaType(contentType); mt {
	case mediaStructuredJSON, mediaStructured:
		// JSON is the one event format the NATS binding requires; a bare
		// application/cloudevents is taken to mean it.
	case mediaStructuredBatch:
		return nil, fmt.Errorf("%w: Content-Type %q: batch mode is not defined by the NATS binding; "+
			"send one event per message", ErrMalformed, clip(mt))
	default:
		return nil, fmt.Errorf("%w: Content-Type %q: unsupported event format; structured mode must use "+
			"application/cloudevents+json, or send binary mode (ce- headers)", ErrMalformed, clip(mt))
	}

	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		if err == nil {
			err = fmt.Errorf("got %.20q", body)
		}
		return nil, fmt.Errorf("%w: structured-mode payload is not a JSON object (JSON event format): %v",
			ErrMalformed, err)
	}
	d := structuredDecoder{members: members}

	sv, ok, err := d.str(attrSpecVersion)
	switch {
	case err != nil:
		return nil, err
	case !ok || sv == "":
		return nil, malformed(attrSpecVersion, `member "specversion" is missing; it must be "1.0"`)
	case sv != specVersion10:
		return nil, malformed(attrSpecVersion, "unsupported specversion %q; only CloudEvents 1.0 is accepted", clip(sv))
	}

	e := &Envelope{}
	fields := [...]struct {
		name     string
		out      *string
		required bool
	}{
		{attrID, &e.ID, true}, {attrSource, &e.Source, true}, {attrType, &e.Type, true},
		{attrSubject, &e.Subject, false}, {attrDataContentType, &e.DataContentType, false},
		{attrDataSchema, &e.DataSchema, false}, {attrCorrelationID, &e.CorrelationID, false},
		{attrCausationID, &e.CausationID, false},
	}
	for _, f := range fields {
		v, _, err := d.str(f.name)
		if err != nil {
			return nil, err
		}
		if f.required && v == "" {
			return nil, missing(f.name)
		}
		*f.out = v
	}
	defaultCorrelation(e)
	ts, _, err := d.str(attrTime)
	if err != nil {
		return nil, err
	}
	if ts != "" {
		if e.Time, err = parseTime(ts); err != nil {
			return nil, err
		}
	}
	if err := d.extensions(e); err != nil {
		return nil, err
	}
	if err := d.data(e); err != nil {
		return nil, err
	}
	return e, nil
}

type structuredDecoder struct {
	members map[string]json.RawMessage
}

func isJSONNull(raw []byte) bool { return bytes.Equal(raw, []byte("null")) }

// str returns a string member; a missing or null member is absent ("", false).
func (d structuredDecoder) str(name string) (string, bool, error) {
	raw, ok := d.members[name]
	if !ok || isJSONNull(raw) {
		return "", false, nil
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false, malformed(name, "member %q must be a JSON string, got %.40s", name, raw)
	}
	if p := valueProblem(s); p != "" {
		return "", false, malformed(name, "member %q: %s", name, p)
	}
	return s, true, nil
}

// extensions copies every member that is not a core attribute into e,
// converting booleans and integers to their canonical string form.
func (d structuredDecoder) extensions(e *Envelope) error {
	var names []string
	for name := range d.members {
		if slotOf(name) < 0 && name != attrData && name != attrDataBase64 {
			names = append(names, name)
		}
	}
	if len(names) > MaxExtensions {
		return tooManyExtensions(len(names))
	}
	slices.Sort(names) // deterministic errors
	for _, name := range names {
		if p := extensionNameProblem(name); p != "" {
			return malformed(name, "%s", p)
		}
		v, present, err := extensionValue(name, d.members[name])
		if err != nil {
			return err
		}
		if !present {
			continue
		}
		if e.Extensions == nil {
			e.Extensions = make(map[string]string, len(names))
		}
		e.Extensions[name] = v
	}
	return nil
}

// extensionValue returns the canonical string form of an extension
// attribute value: strings as they are, booleans as "true"/"false",
// integers (CloudEvents Integer: 32-bit, no fraction or exponent) in
// decimal. null means absent.
func extensionValue(name string, raw json.RawMessage) (string, bool, error) {
	s := string(raw)
	switch {
	case s == "null":
		return "", false, nil
	case s == "true" || s == "false":
		return s, true, nil
	case len(s) > 0 && s[0] == '"':
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", false, malformed(name, "%v", err)
		}
		if p := valueProblem(v); p != "" {
			return "", false, malformed(name, "%s", p)
		}
		return v, true, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return "", false, malformed(name, "member value %.40s is not allowed; extension values must be strings, "+
			"booleans or integers in the 32-bit range (CloudEvents type system)", s)
	}
	return strconv.FormatInt(n, 10), true, nil
}

// data fills e.Data from "data" or "data_base64" following the JSON event
// format: base64 is decoded; JSON-typed data is kept as its raw JSON text;
// data of any other type must be a JSON string and its content is the data.
// With "data" but no datacontenttype, the implied application/json is made
// explicit, as the format asks when re-encoding for another binding.
func (d structuredDecoder) data(e *Envelope) error {
	raw, hasData := d.members[attrData]
	b64, hasBase64 := d.members[attrDataBase64]
	if hasBase64 && isJSONNull(b64) {
		hasBase64 = false
	}
	if hasData && hasBase64 && !isJSONNull(raw) {
		return malformed(attrDataBase64, `both "data" and "data_base64" are present; send exactly one`)
	}
	switch {
	case hasBase64:
		var s string
		if len(b64) == 0 || b64[0] != '"' || json.Unmarshal(b64, &s) != nil {
			return malformed(attrDataBase64, "member %q must be a JSON string of base64, got %.40s", attrDataBase64, b64)
		}
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return malformed(attrDataBase64, "member %q is not valid standard base64: %v", attrDataBase64, err)
		}
		if len(data) > 0 {
			e.Data = data
		}
	case !hasData:
	case e.DataContentType == "" || isJSONMediaType(e.DataContentType):
		if e.DataContentType == "" {
			e.DataContentType = mediaJSON
		}
		e.Data = raw
	case isJSONNull(raw):
	default:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return malformed(attrData, "datacontenttype %q is not JSON, so member %q must be a JSON string "+
				"(or use %q for binary data), got %.40s", clip(e.DataContentType), attrData, attrDataBase64, raw)
		}
		if s != "" {
			e.Data = []byte(s)
		}
	}
	return nil
}
