package cesdk

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/choreo-bus/choreo/envelope"
)

// The extensions that have their own Envelope fields.
const (
	extCorrelationID = "correlationid"
	extCausationID   = "causationid"
)

// malformed is an error this package creates. It says so in its prefix and
// matches envelope.ErrMalformed, as the errors of package envelope do,
// without repeating that error's own text.
type malformed string

func (m malformed) Error() string { return "choreo/cesdk: " + string(m) }
func (malformed) Unwrap() error   { return envelope.ErrMalformed }

func malformedf(format string, args ...any) error {
	return malformed(fmt.Sprintf(format, args...))
}

// ToEvent returns e as an sdk-go CloudEvents 1.0 event. Every attribute is
// kept: CorrelationID and CausationID become the extensions "correlationid"
// and "causationid", and each entry of Extensions an extension of the same
// name with a string value. The event shares e.Data (no copy). When
// marshalled to JSON by sdk-go, data declared as application/json or
// text/json (or undeclared) and valid as JSON is embedded as "data"; any
// other data goes out as "data_base64", so that no payload is altered by
// the trip.
//
// Errors match envelope.ErrMalformed: e breaks a rule envelope.Write
// enforces, or sdk-go refuses a value (for instance a source that does not
// parse as a URI reference, or a dataschema that is not an absolute URI).
// ToEvent only reads e.
func ToEvent(e *envelope.Envelope) (event.Event, error) {
	if err := e.Validate(); err != nil {
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
		ev.SetExtension(extCorrelationID, e.CorrelationID)
	}
	if e.CausationID != "" {
		ev.SetExtension(extCausationID, e.CausationID)
	}
	for name, value := range e.Extensions {
		ev.SetExtension(name, value)
	}
	if len(e.Data) > 0 {
		ev.DataEncoded = e.Data
		ev.DataBase64 = !(sdkEmbedsAsJSON(e.DataContentType) && json.Valid(e.Data))
	}
	if err := ev.Validate(); err != nil {
		return event.Event{}, malformedf("the CloudEvents SDK rejects the event: %s", describeValidation(err))
	}
	return ev, nil
}

// sdkEmbedsAsJSON mirrors the rule sdk-go's JSON marshaller uses to write
// data as a raw JSON value rather than as a string: an exact JSON media
// type, or none at all. Other JSON-ish types ("+json") are sent as base64,
// because sdk-go would quote them as a string and change their meaning.
func sdkEmbedsAsJSON(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch strings.ToLower(strings.TrimSpace(mediaType)) {
	case "", "application/json", "text/json":
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

// FromEvent converts an sdk-go event into an Envelope. The extensions
// "correlationid" and "causationid" fill CorrelationID and CausationID;
// every other extension goes into Extensions in its canonical string form
// (booleans "true"/"false", integers in decimal, binary in base64,
// timestamps in RFC 3339). Data is ev's encoded data, shared, not copied;
// Time is kept as the event has it.
//
// Only CloudEvents 1.0 events are accepted. Errors match
// envelope.ErrMalformed and name the attribute: the event fails sdk-go's
// own validation, or holds a value envelope.Write would refuse (an
// extension name with upper-case letters, a string with control
// characters). FromEvent only reads ev.
func FromEvent(ev event.Event) (*envelope.Envelope, error) {
	if ev.Context == nil {
		return nil, malformedf(`attribute "specversion": the event has no context; build it with event.New()`)
	}
	if sv := ev.SpecVersion(); sv != event.CloudEventsVersionV1 {
		return nil, malformedf(`attribute "specversion": unsupported specversion %q; only CloudEvents 1.0 is accepted`, sv)
	}
	if err := ev.Validate(); err != nil {
		return nil, malformedf("the CloudEvents SDK rejects the event: %s", describeValidation(err))
	}
	e := &envelope.Envelope{
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
			return nil, malformedf("attribute %q: extension value %v: %v", name, v, err)
		}
		switch name {
		case extCorrelationID:
			e.CorrelationID = s
		case extCausationID:
			e.CausationID = s
		default:
			if e.Extensions == nil {
				e.Extensions = make(map[string]string, len(ev.Extensions()))
			}
			e.Extensions[name] = s
		}
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}
