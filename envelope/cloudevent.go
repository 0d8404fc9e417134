package envelope

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// This file converts between Envelope and the CloudEvents Go SDK's
// event.Event (also exported as cloudevents.Event), for code that already
// speaks sdk-go: its JSON format, its HTTP protocol, its clients.

// ToCloudEvent returns e as an sdk-go CloudEvents 1.0 event. Every attribute
// is kept: CorrelationID and CausationID become the extensions
// "correlationid" and "causationid", and each entry of Extensions an
// extension of the same name with a string value. The event shares e.Data
// (no copy). When marshalled to JSON by sdk-go, data declared as
// application/json or text/json (or undeclared) and valid as JSON is
// embedded as "data"; any other data goes out as "data_base64", so that no
// payload is ever altered by the trip.
//
// Errors match ErrMalformed: e breaks a rule Write enforces, or sdk-go
// refuses a value (for instance a source that does not parse as a URI
// reference, or a dataschema that is not an absolute URI). ToCloudEvent
// only reads e; it is safe to call concurrently on the same Envelope.
func (e *Envelope) ToCloudEvent() (event.Event, error) {
	if err := e.validate(); err != nil {
		return event.Event{}, err
	}
	ev := event.New(event.CloudEventsVersionV1)
	ev.SetID(e.ID)
	ev.SetSource(e.Source)
	ev.SetType(e.Type)
	if e.Subject != "" {
		ev.SetSubject(e.Subject)
	}
	if !e.Time.IsZero() {
		ev.SetTime(e.Time)
	}
	if e.DataContentType != "" {
		ev.SetDataContentType(e.DataContentType)
	}
	if e.DataSchema != "" {
		ev.SetDataSchema(e.DataSchema)
	}
	if e.CorrelationID != "" {
		ev.SetExtension(attrCorrelationID, e.CorrelationID)
	}
	if e.CausationID != "" {
		ev.SetExtension(attrCausationID, e.CausationID)
	}
	for name, value := range e.Extensions {
		ev.SetExtension(name, value)
	}
	if len(e.Data) > 0 {
		ev.DataEncoded = e.Data
		ev.DataBase64 = !(sdkEmbedsAsJSON(e.DataContentType) && json.Valid(e.Data))
	}
	if err := ev.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("%w: the CloudEvents SDK rejects the event: %s",
			ErrMalformed, describeValidation(err))
	}
	return ev, nil
}

// sdkEmbedsAsJSON mirrors the rule sdk-go's JSON marshaller uses to write
// data as a raw JSON value rather than as a string: an exact JSON media
// type, or none at all. Other JSON-ish types ("+json") are sent as base64,
// because sdk-go would quote them as a string and change their meaning.
func sdkEmbedsAsJSON(contentType string) bool {
	switch mediaType(contentType) {
	case "", mediaJSON, "text/json":
		return true
	}
	return false
}

// describeValidation renders sdk-go's validation error (a map keyed by
// attribute) in a stable order, each attribute named.
func describeValidation(err error) string {
	verr, ok := err.(event.ValidationError)
	if !ok {
		return err.Error()
	}
	keys := make([]string, 0, len(verr))
	for k := range verr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("attribute %q: %v", k, verr[k]))
	}
	return strings.Join(parts, "; ")
}

// FromCloudEvent converts an sdk-go event into an Envelope. The extensions
// "correlationid" and "causationid" fill CorrelationID and CausationID;
// every other extension goes into Extensions in its canonical string form
// (booleans "true"/"false", integers in decimal, binary in base64,
// timestamps in RFC 3339). Data is ev's encoded data, shared, not copied;
// Time is kept as the event has it.
//
// Only CloudEvents 1.0 events are accepted. Errors match ErrMalformed and
// name the attribute: the event fails sdk-go's own validation, or holds a
// value Write would refuse (an extension name with upper-case letters, a
// string with control characters). FromCloudEvent only reads ev.
func FromCloudEvent(ev event.Event) (*Envelope, error) {
	if ev.Context == nil {
		return nil, malformed(attrSpecVersion, "the event has no context; build it with event.New()")
	}
	if sv := ev.SpecVersion(); sv != specVersion10 {
		return nil, malformed(attrSpecVersion, "unsupported specversion %q; only CloudEvents 1.0 is accepted", sv)
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, describeValidation(err))
	}
	e := &Envelope{
		ID:              ev.ID(),
		Source:          ev.Source(),
		Type:            ev.Type(),
		Subject:         ev.Subject(),
		Time:            ev.Time(),
		DataContentType: ev.DataContentType(),
		DataSchema:      ev.DataSchema(),
	}
	if data := ev.Data(); len(data) > 0 {
		e.Data = data
	}
	for name, v := range ev.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			return nil, malformed(name, "extension value %v: %v", v, err)
		}
		switch name {
		case attrCorrelationID:
			e.CorrelationID = s
		case attrCausationID:
			e.CausationID = s
		default:
			if e.Extensions == nil {
				e.Extensions = make(map[string]string, len(ev.Extensions()))
			}
			e.Extensions[name] = s
		}
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return e, nil
}
