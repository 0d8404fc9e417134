package envelope

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Read decodes the CloudEvent carried by a NATS message with headers h and
// payload data (a nats.Msg's Header and Data, or a JetStream message's
// Headers() and Data()).
//
// A message whose Content-Type header (any letter case) starts with
// "application/cloudevents" is in structured mode: the payload is the JSON
// event format and the other headers are ignored. Any other message is in
// binary mode: attributes come from "ce-" headers, matched without regard to
// letter case, and the payload is the data. A header value is unquoted if it
// is a valid quoted-string and percent-decoded if it is a valid
// percent-encoding; otherwise it is taken literally, since the CloudEvents
// SDKs send values raw (the package documentation gives the exact rules).
// Either way the result must be valid UTF-8 without control characters.
// When ce-datacontenttype is absent, a plain (non-CloudEvents) Content-Type
// header is taken as the data content type, for producers that map
// datacontenttype the way the HTTP binding does.
//
// Time is returned in UTC. Data is data itself, not a copy, in binary
// mode. Every CloudEvents attribute other than the core ones,
// correlationid and causationid lands in Extensions, which stays nil when
// there is none.
//
// A message that is not a valid CloudEvent 1.0 - no headers, a required
// attribute missing or empty, a specversion other than 1.0, an attribute
// given twice, an unparsable time, a bad extension name, a value that is no
// valid CloudEvents string, broken JSON - or that exceeds a limit
// (MaxExtensions, MaxValueBytes, MaxExtensionNameBytes) gives an error
// matching ErrMalformed that names the attribute at fault and the limit
// broken. Read never panics on any input, and its cost grows linearly with
// the number of headers.
//
// Read modifies neither h nor data; several goroutines may Read the same
// message.
func Read(h nats.Header, data []byte) (*Envelope, error) {
	if len(h) == 0 {
		return nil, malformed(attrSpecVersion, "the message has no headers, so it is neither a binary-mode "+
			"CloudEvent (ce-specversion, ce-id, ce-source, ce-type headers) nor a structured one "+
			"(Content-Type: application/cloudevents+json)")
	}

	var raw rawHeaders
	var extensionBuf [4]rawExtension
	extensions, ok := raw.collectExact(h, extensionBuf[:0])
	if !ok {
		raw = rawHeaders{}
		extensions = raw.collect(h, extensionBuf[:0])
	}
	if raw.contentTypeRepeated {
		return nil, fmt.Errorf("%w: Content-Type is given more than once, so the content mode is ambiguous; "+
			"send one Content-Type header", ErrMalformed)
	}
	if raw.hasContentType && isStructuredContentType(raw.contentType) {
		return readStructured(raw.contentType, data)
	}
	return raw.decode(extensions, data)
}

// Slots of the attributes that have a fixed place in an Envelope, in the
// order they are checked (which decides which problem is reported first
// when a message has several).
const (
	slotSpecVersion = iota
	slotID
	slotSource
	slotType
	slotSubject
	slotTime
	slotDataContentType
	slotDataSchema
	slotCorrelationID
	slotCausationID
	slotCount
)

var slotNames = [slotCount]string{
	attrSpecVersion, attrID, attrSource, attrType, attrSubject, attrTime,
	attrDataContentType, attrDataSchema, attrCorrelationID, attrCausationID,
}

// slotOf returns the slot of a lower-case attribute name, or -1 for an
// extension.
func slotOf(name string) int {
	switch name {
	case attrSpecVersion:
		return slotSpecVersion
	case attrID:
		return slotID
	case attrSource:
		return slotSource
	case attrType:
		return slotType
	case attrSubject:
		return slotSubject
	case attrTime:
		return slotTime
	case attrDataContentType:
		return slotDataContentType
	case attrDataSchema:
		return slotDataSchema
	case attrCorrelationID:
		return slotCorrelationID
	case attrCausationID:
		return slotCausationID
	}
	return -1
}

// rawHeaders is what one pass over the header map finds, before decoding.
// Collecting first and decoding afterwards in a fixed order keeps the
// reported error independent of map iteration order, and lets structured
// mode be recognised without a second pass.
type rawHeaders struct {
	values              [slotCount]string
	present             uint16 // bit per slot
	repeated            uint16 // bit per slot given more than once
	contentType         string
	hasContentType      bool
	contentTypeRepeated bool
}

type rawExtension struct {
	name   string // lower case
	values []string
}

// collect sorts the headers into r, appending extensions to exts and
// returning it. (Extensions are kept apart from r so that the caller's
// stack buffer for them stays on the stack: escape analysis does not tell
// one field of r from another.)
func (r *rawHeaders) collect(h nats.Header, exts []rawExtension) []rawExtension {
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if !hasPrefixFold(k, hdrPrefix) {
			if len(k) == len(hdrContentType) && strings.EqualFold(k, hdrContentType) {
				r.contentTypeRepeated = r.hasContentType || len(vs) > 1
				r.contentType = vs[0]
				r.hasContentType = true
			}
			continue
		}
		name := lowerASCII(k[len(hdrPrefix):])
		if slot := slotOf(name); slot >= 0 {
			r.setSlot(slot, vs)
			continue
		}
		exts = append(exts, rawExtension{name: name, values: vs})
	}
	return exts
}

// The traceparent extension, which choreo writes itself.
const (
	extTraceParent = "traceparent"
	hdrTraceParent = hdrPrefix + extTraceParent
)

// exactNames are the header names of the slots as choreo writes them.
var exactNames = [slotCount]string{
	hdrSpecVersion, hdrID, hdrSource, hdrType, hdrSubject, hdrTime,
	hdrDataContentType, hdrDataSchema, hdrCorrelationID, hdrCausationID,
}

// collectExact is collect's fast path for the messages choreo writes: it
// looks each attribute, and the traceparent extension, up by its exact
// lower-case name and reports whether that accounted for every header.
// When it did, there is nothing else to find (no other extension, no
// letter-case variant, no Content-Type) and r and the returned extensions
// are exactly what collect would have found; otherwise the caller starts
// over with collect. A dozen lookups in a small map cost about a third of
// iterating it and folding every name's case.
func (r *rawHeaders) collectExact(h nats.Header, exts []rawExtension) ([]rawExtension, bool) {
	known := 0
	if _, ok := h[nats.MsgIdHdr]; ok {
		known++
	}
	if vs, ok := h[hdrTraceParent]; ok {
		known++
		if len(vs) > 0 {
			exts = append(exts, rawExtension{name: extTraceParent, values: vs})
		}
	}
	for slot, name := range exactNames {
		vs, ok := h[name]
		if !ok {
			continue
		}
		known++
		if len(vs) > 0 {
			r.setSlot(slot, vs)
		}
	}
	return exts, known == len(h)
}

// setSlot records a header's non-empty values for an attribute slot,
// marking the slot repeated when it was already seen or has several.
func (r *rawHeaders) setSlot(slot int, vs []string) {
	bit := uint16(1) << slot
	if r.present&bit != 0 || len(vs) > 1 {
		r.repeated |= bit
	}
	r.present |= bit
	r.values[slot] = vs[0]
}

// lowerASCII lower-cases s, allocating only when s has an upper-case letter
// (foreign producers only; choreo writes lower case).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

func (r *rawHeaders) decode(extensions []rawExtension, data []byte) (*Envelope, error) {
	for slot := range slotCount {
		if r.repeated&(1<<slot) != 0 {
			return nil, malformed(slotNames[slot], "given more than once (as several headers differing "+
				"only in letter case, or several values); send exactly one ce-%s header", slotNames[slot])
		}
	}
	var decoded [slotCount]string
	for slot := range slotCount {
		if r.present&(1<<slot) == 0 {
			continue
		}
		v, p := decodeHeaderValue(r.values[slot])
		if p != "" {
			return nil, malformed(slotNames[slot], "header ce-%s: %s", slotNames[slot], p)
		}
		decoded[slot] = v
	}
	switch sv := decoded[slotSpecVersion]; {
	case r.present&(1<<slotSpecVersion) == 0 || sv == "":
		return nil, malformed(attrSpecVersion, "ce-specversion header is missing; a binary-mode CloudEvent "+
			"must carry ce-specversion: 1.0 (or send structured mode with Content-Type: application/cloudevents+json)")
	case sv != specVersion10:
		return nil, malformed(attrSpecVersion, "unsupported specversion %q; only CloudEvents 1.0 is accepted", clip(sv))
	}
	for _, slot := range [...]int{slotID, slotSource, slotType} {
		if decoded[slot] == "" {
			return nil, missing(slotNames[slot])
		}
	}

	e := &Envelope{
		ID:              decoded[slotID],
		Source:          decoded[slotSource],
		Type:            decoded[slotType],
		Subject:         decoded[slotSubject],
		DataContentType: decoded[slotDataContentType],
		DataSchema:      decoded[slotDataSchema],
		CorrelationID:   decoded[slotCorrelationID],
		CausationID:     decoded[slotCausationID],
	}
	defaultCorrelation(e)
	if s := decoded[slotTime]; s != "" {
		t, err := parseTime(s)
		if err != nil {
			return nil, err
		}
		e.Time = t
	}
	if e.DataContentType == "" && r.hasContentType {
		// Content-Type is not a ce- header, so it is not percent-decoded.
		v := trimOptionalWhitespace(r.contentType)
		if p := valueProblem(v); p != "" {
			return nil, malformed(attrDataContentType, "header Content-Type: %s", p)
		}
		e.DataContentType = v
	}
	if err := decodeExtensions(extensions, e); err != nil {
		return nil, err
	}
	if len(data) > 0 {
		e.Data = data
	}
	return e, nil
}

// parseTime parses an RFC 3339 timestamp and returns it in UTC. Times whose
// UTC year leaves 0000-9999 are refused because they could not be written
// back as RFC 3339.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, malformed(attrTime, "%q is not an RFC 3339 timestamp such as "+
			"2018-04-05T17:31:00Z or 2018-04-05T17:31:00.123+02:00 (%v)", clip(s), clip(timeErrorDetail(err)))
	}
	if p := timeProblem(t); p != "" {
		return time.Time{}, malformed(attrTime, "%q: %s", clip(s), p)
	}
	return t.UTC(), nil
}

// timeErrorDetail keeps the useful tail of a time.ParseError.
func timeErrorDetail(err error) string {
	if pe, ok := err.(*time.ParseError); ok && pe.Message != "" {
		return strings.TrimPrefix(pe.Message, ": ")
	}
	return fmt.Sprint(err)
}

// defaultCorrelation applies the wire format's rule for an absent
// correlationid: the message starts its chain, so its correlation id is its
// own id (Write leaves the header out in that case).
func defaultCorrelation(e *Envelope) {
	if e.CorrelationID == "" {
		e.CorrelationID = e.ID
	}
}
