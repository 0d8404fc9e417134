package envelope

import (
	"errors"
	"fmt"
	"time"
)

// ErrMalformed is matched (with errors.Is) by every error that reports a
// message or an Envelope that is not a valid CloudEvent 1.0: a required
// attribute missing or empty, an unknown specversion, an unparsable time, a
// bad extension name, a value that is no valid CloudEvents string, broken
// JSON, or a limit exceeded (MaxExtensions, MaxValueBytes,
// MaxExtensionNameBytes). The wrapping error names the attribute at fault
// and says how to fix it.
var ErrMalformed = errors.New("choreo/envelope: malformed CloudEvent")

// Envelope is one CloudEvents 1.0 event: its context attributes and its data.
//
// ID, Source and Type are required; every other field is optional and its
// zero value means "absent". CorrelationID and CausationID travel as the
// CloudEvents extensions "correlationid" and "causationid"; every other
// extension, including the W3C "traceparent", lives in Extensions under its
// lower-case attribute name.
//
// An Envelope is a plain value: it is safe to read from several goroutines,
// but not to modify while another goroutine reads or writes it.
type Envelope struct {
	// ID, Source, Type and Subject are the CloudEvents attributes id,
	// source, type and subject. Source is carried as an opaque string; it is
	// not parsed as a URI-reference.
	ID, Source, Type, Subject string

	// Time is when the occurrence happened; the zero Time means absent. It
	// is written in UTC with the precision it has and read back in UTC.
	Time time.Time

	// DataContentType is the media type of Data, e.g. "application/json".
	DataContentType string

	// DataSchema identifies the schema Data adheres to (carried opaque).
	DataSchema string

	// CorrelationID ties every message of one choreography together.
	CorrelationID string

	// CausationID is the ID of the message that caused this one.
	CausationID string

	// Extensions holds every other extension attribute, keyed by its name
	// (lower-case ASCII letters and digits only). Read leaves it nil when
	// the message has none.
	Extensions map[string]string

	// Data is the event payload, encoded as DataContentType says. Read
	// returns the message's own payload slice, not a copy.
	Data []byte
}

// Attribute names (CloudEvents 1.0 core plus the two choreo extensions that
// have their own Envelope fields).
const (
	attrSpecVersion     = "specversion"
	attrID              = "id"
	attrSource          = "source"
	attrType            = "type"
	attrSubject         = "subject"
	attrTime            = "time"
	attrDataContentType = "datacontenttype"
	attrDataSchema      = "dataschema"
	attrCorrelationID   = "correlationid"
	attrCausationID     = "causationid"
	attrData            = "data"
	attrDataBase64      = "data_base64"

	specVersion10 = "1.0"
)

// malformed builds an error wrapping ErrMalformed that names attr (cut
// short if a hostile message made it long).
func malformed(attr, format string, args ...any) error {
	return fmt.Errorf("%w: attribute %q: %s", ErrMalformed, clip(attr), fmt.Sprintf(format, args...))
}

// missing reports a required attribute that is absent or empty.
func missing(attr string) error {
	return malformed(attr, "missing or empty; a CloudEvent needs non-empty id, source and type "+
		"and specversion 1.0 (binary mode: ce-%s header; structured mode: %q member)", attr, attr)
}

// extensionNameProblem says why name cannot be an extension attribute name,
// or returns "" when it can. CloudEvents 1.0 allows only lower-case ASCII
// letters and digits; the spec recommends at most 20 characters but does
// not require it, so names up to MaxExtensionNameBytes are accepted. Names
// of core attributes and of the extensions that have their own Envelope
// field are reserved so that every attribute has exactly one home.
func extensionNameProblem(name string) string {
	if name == "" {
		return "extension name is empty"
	}
	if len(name) > MaxExtensionNameBytes {
		return fmt.Sprintf("extension name is %d bytes long; names are limited to %d (envelope.MaxExtensionNameBytes), "+
			"and the spec recommends at most 20", len(name), MaxExtensionNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "extension names may only hold lower-case ASCII letters and digits (a-z, 0-9)"
		}
	}
	switch name {
	case attrSpecVersion, attrID, attrSource, attrType, attrSubject, attrTime,
		attrDataContentType, attrDataSchema, attrData:
		return "is a CloudEvents core attribute, not an extension; use the Envelope field instead"
	case attrCorrelationID, attrCausationID:
		return "has its own Envelope field (CorrelationID / CausationID); do not put it in Extensions"
	}
	return ""
}

// timeProblem says why t cannot be written as an RFC 3339 timestamp, or
// returns "" when it can. RFC 3339 has four-digit years only, and Read
// normalizes to UTC, so the check is on the UTC year.
func timeProblem(t time.Time) string {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Sprintf("year %d (UTC) is outside the 0000-9999 range RFC 3339 can express", y)
	}
	return ""
}

// Validate reports whether Write would accept e: it runs Write's checks
// without touching a message, for code that builds an Envelope from another
// representation and wants to know that it can be written. The error is the
// one Write would return; it matches ErrMalformed.
func (e *Envelope) Validate() error {
	if e == nil {
		return errNilEnvelope
	}
	var w headerValues
	var extensionBuf [4]keyValue
	_, err := w.encode(e, extensionBuf[:0])
	return err
}
