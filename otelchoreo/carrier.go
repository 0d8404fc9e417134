package otelchoreo

import (
	"github.com/choreo-bus/choreo/envelope"
)

// extensionCarrier carries propagation fields as CloudEvents extension
// attributes of an envelope, as the CloudEvents distributed-tracing
// extension does for W3C Trace Context: "traceparent" and "tracestate"
// travel as the headers ce-traceparent and ce-tracestate.
//
// Extension names are lower-case ASCII letters and digits, so a field
// name with other characters (B3's "x-b3-traceid") is lower-cased and
// stripped of the rest ("xb3traceid"), the same way on both sides.
type extensionCarrier struct{ env *envelope.Envelope }

// Get returns the extension for key, or "".
func (c extensionCarrier) Get(key string) string {
	if c.env == nil {
		return ""
	}
	return c.env.Extensions[extensionName(key)]
}

// Set sets the extension for key.
func (c extensionCarrier) Set(key, value string) {
	if c.env == nil {
		return
	}
	if c.env.Extensions == nil {
		c.env.Extensions = make(map[string]string, 2)
	}
	c.env.Extensions[extensionName(key)] = value
}

// Keys lists the envelope's extension names.
func (c extensionCarrier) Keys() []string {
	if c.env == nil {
		return nil
	}
	keys := make([]string, 0, len(c.env.Extensions))
	for k := range c.env.Extensions {
		keys = append(keys, k)
	}
	return keys
}

// extensionName maps a propagation field name to a valid extension name;
// the usual names ("traceparent", "tracestate", "baggage") are returned as
// they are, without allocating.
func extensionName(key string) string {
	valid := true
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			valid = false
			break
		}
	}
	if valid {
		return key
	}
	b := make([]byte, 0, len(key))
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return string(b)
}
