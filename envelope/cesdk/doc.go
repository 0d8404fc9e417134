// Package cesdk converts between choreo's [envelope.Envelope] and the
// CloudEvents Go SDK's event.Event (github.com/cloudevents/sdk-go/v2), for
// code that already speaks sdk-go: its JSON event format, its HTTP
// protocol, its clients.
//
// It is a package of its own so that the SDK, and the JSON and reflection
// libraries it brings, are linked only into programs that ask for the
// conversion: package envelope, and with it the bus, does not import sdk-go.
//
// [ToEvent] and [FromEvent] keep every attribute and extension.
// CorrelationID and CausationID travel as the extensions "correlationid"
// and "causationid"; every other extension keeps its name. Data is shared,
// not copied, in both directions.
//
// Errors match [envelope.ErrMalformed]: either the value breaks a rule
// envelope.Write enforces (the error comes from [envelope.Envelope.Validate]
// as it is), or sdk-go refuses it, such as a source that does not parse as a
// URI reference, which package envelope carries as an opaque string.
//
// Both functions only read their argument and are safe for concurrent use.
package cesdk
