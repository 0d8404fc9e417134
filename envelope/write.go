package envelope

import (
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Header names written in binary mode. The binding maps every attribute,
// datacontenttype included, to "ce-" + its name; NATS header names are
// case-insensitive by ADR-4 but nats.go keeps them as given, so lower case
// is written, as in the binding's examples.
const (
	hdrPrefix          = "ce-"
	hdrSpecVersion     = hdrPrefix + attrSpecVersion
	hdrID              = hdrPrefix + attrID
	hdrSource          = hdrPrefix + attrSource
	hdrType            = hdrPrefix + attrType
	hdrSubject         = hdrPrefix + attrSubject
	hdrTime            = hdrPrefix + attrTime
	hdrDataContentType = hdrPrefix + attrDataContentType
	hdrDataSchema      = hdrPrefix + attrDataSchema
	hdrCorrelationID   = hdrPrefix + attrCorrelationID
	hdrCausationID     = hdrPrefix + attrCausationID
	hdrContentType     = "Content-Type"
)

// errNilMsg is a programming error, not a malformed event.
var errNilMsg = errors.New("choreo/envelope: Write needs a non-nil *nats.Msg; create one with nats.NewMsg(subject)")

// errNilEnvelope is an absent event, reported like any other bad event.
var errNilEnvelope = malformed(attrID, "the Envelope is nil; nothing to write")

// Write encodes e onto m in CloudEvents binary content mode, as the
// CloudEvents NATS protocol binding specifies: one "ce-<attribute>" header
// per attribute (specversion 1.0, id, source, type, and time,
// datacontenttype, dataschema, subject, correlationid, causationid and every
// other extension when set; correlationid is left out when it equals the id,
// which is what readers assume when it is absent), values percent-encoded where the binding says
// so, time in RFC 3339 UTC with its sub-second precision, and e.Data as the
// payload (shared, not copied). It also sets Nats-Msg-Id to the encoded
// source and id joined by a space (see MsgID), so that JetStream drops
// duplicate publishes of one event within the stream's duplicate window,
// and never drops another producer's event that has the same id.
//
// Write creates m.Header when it is nil (sized for the event: the cheapest
// way). Existing headers keep their values except that every attribute
// header is replaced, not appended to, and headers an earlier event may have
// left are removed: any "ce-" header in any letter case, and Content-Type,
// which receivers read as the content mode or the data content type. So
// reusing a message never mixes two events. Other headers are left alone.
//
// Write validates e first and changes nothing on error: ID, Source and Type
// must be non-empty, every string must be valid CloudEvents text (UTF-8
// without control characters) of at most MaxValueBytes, extension names
// lower-case letters and digits of at most MaxExtensionNameBytes, no more
// than MaxExtensions extensions, Time within years 0000-9999. Errors match
// ErrMalformed and name the attribute and the limit broken.
//
// Write does not retain e or m. It modifies m, so m must not be used by
// another goroutine meanwhile; distinct messages may be written
// concurrently.
func Write(m *nats.Msg, e *Envelope) error {
	if m == nil {
		return errNilMsg
	}
	if e == nil {
		return errNilEnvelope
	}

	// Validate and encode everything before touching m.
	var w headerValues
	var extensionBuf [4]keyValue
	extensions, err := w.encode(e, extensionBuf[:0])
	if err != nil {
		return err
	}

	if m.Header == nil {
		m.Header = make(nats.Header, w.count+len(extensions))
	} else if len(m.Header) > 0 {
		removeStaleHeaders(m.Header)
	}
	// One backing array for every header's []string instead of one
	// allocation per header. Each header gets a capacity-1 slice of it, so
	// a later Header.Add reallocates instead of overwriting a neighbour.
	s := headerSetter{h: m.Header, vals: make([]string, w.count+len(extensions))}
	s.set(hdrSpecVersion, specVersion10)
	s.set(hdrID, w.id)
	s.set(nats.MsgIdHdr, w.source+" "+w.id)
	s.set(hdrSource, w.source)
	s.set(hdrType, w.typ)
	s.setOptional(hdrSubject, w.subject)
	s.setOptional(hdrTime, w.time)
	s.setOptional(hdrDataContentType, w.dataContentType)
	s.setOptional(hdrDataSchema, w.dataSchema)
	s.setOptional(hdrCorrelationID, w.correlationID)
	s.setOptional(hdrCausationID, w.causationID)
	for _, x := range extensions {
		s.set(x.key, x.value)
	}
	m.Data = e.Data
	return nil
}

// headerValues holds the encoded header values of one Envelope; "" means
// the attribute is absent. count is the number of headers they make:
// specversion, id, Nats-Msg-Id, source, type and the optional ones present.
type headerValues struct {
	id, source, typ, subject, time string
	dataContentType, dataSchema    string
	correlationID, causationID     string
	count                          int
}

type keyValue struct{ key, value string }

// encode validates and encodes e into w, appending the extension headers
// to exts and returning it. (Extensions are kept apart from w so that the
// caller's stack buffer for them stays on the stack: escape analysis does
// not tell one field of w from another.)
func (w *headerValues) encode(e *Envelope, exts []keyValue) ([]keyValue, error) {
	var err error
	if w.id, err = encodeRequired(attrID, e.ID); err != nil {
		return nil, err
	}
	if w.source, err = encodeRequired(attrSource, e.Source); err != nil {
		return nil, err
	}
	if w.typ, err = encodeRequired(attrType, e.Type); err != nil {
		return nil, err
	}
	w.count = 5
	if w.subject, err = w.encodeOptional(attrSubject, e.Subject); err != nil {
		return nil, err
	}
	if w.dataContentType, err = w.encodeOptional(attrDataContentType, e.DataContentType); err != nil {
		return nil, err
	}
	if w.dataSchema, err = w.encodeOptional(attrDataSchema, e.DataSchema); err != nil {
		return nil, err
	}
	// A chain's first message is its own correlation: the header would
	// repeat ce-id, and every reader defaults an absent correlationid to
	// the id (docs/wire.md), so it is left out.
	correlationID := e.CorrelationID
	if correlationID == e.ID {
		correlationID = ""
	}
	if w.correlationID, err = w.encodeOptional(attrCorrelationID, correlationID); err != nil {
		return nil, err
	}
	if w.causationID, err = w.encodeOptional(attrCausationID, e.CausationID); err != nil {
		return nil, err
	}
	if !e.Time.IsZero() {
		if p := timeProblem(e.Time); p != "" {
			return nil, malformed(attrTime, "%s", p)
		}
		var buf [len(time.RFC3339Nano) + 8]byte
		w.time = string(e.Time.UTC().AppendFormat(buf[:0], time.RFC3339Nano))
		w.count++
	}
	if len(e.Extensions) > MaxExtensions {
		return nil, tooManyExtensions(len(e.Extensions))
	}
	for name, value := range e.Extensions {
		if p := extensionNameProblem(name); p != "" {
			return nil, malformed(name, "%s", p)
		}
		v, p := encodeHeaderValue(value)
		if p != "" {
			return nil, malformed(name, "%s", p)
		}
		exts = append(exts, keyValue{extensionHeaderName(name), v})
	}
	return exts, nil
}

func (w *headerValues) encodeOptional(attr, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	v, p := encodeHeaderValue(value)
	if p != "" {
		return "", malformed(attr, "%s", p)
	}
	w.count++
	return v, nil
}

func encodeRequired(attr, value string) (string, error) {
	if value == "" {
		return "", missing(attr)
	}
	v, p := encodeHeaderValue(value)
	if p != "" {
		return "", malformed(attr, "%s", p)
	}
	return v, nil
}

// extensionHeaderName returns "ce-" + name, without allocating for the
// extensions choreo sets on nearly every message.
func extensionHeaderName(name string) string {
	switch name {
	case "traceparent":
		return "ce-traceparent"
	case "tracestate":
		return "ce-tracestate"
	}
	return hdrPrefix + name
}

type headerSetter struct {
	h    nats.Header
	vals []string
}

func (s *headerSetter) set(key, value string) {
	s.vals[0] = value
	s.h[key] = s.vals[0:1:1]
	s.vals = s.vals[1:]
}

func (s *headerSetter) setOptional(key, value string) {
	if value != "" {
		s.set(key, value)
	}
}

// removeStaleHeaders deletes the headers an earlier event may have left on
// a reused message: "ce-" headers in any letter case; Content-Type, which
// Read takes as the content mode or, failing ce-datacontenttype, as the
// data content type; and Nats-Msg-Id spelled in another case (which would
// reach the server as a second id header).
func removeStaleHeaders(h nats.Header) {
	for k := range h {
		switch {
		case hasPrefixFold(k, hdrPrefix),
			strings.EqualFold(k, hdrContentType),
			k != nats.MsgIdHdr && strings.EqualFold(k, nats.MsgIdHdr):
			delete(h, k)
		}
	}
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case;
// prefix must be lower case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// MsgID returns the Nats-Msg-Id that Write sets for an event of source and
// id: the two header values as encoded on the wire, joined by a space.
// CloudEvents identifies an event by source and id together, so two
// producers that both use id "1" are never taken for duplicates of each
// other. An encoded value holds no space, so the joined form is
// unambiguous. Invalid source or id values are encoded as Write would
// refuse them; check them with Validate first.
func MsgID(source, id string) string {
	s, _ := encodeHeaderValue(source)
	i, _ := encodeHeaderValue(id)
	return s + " " + i
}
