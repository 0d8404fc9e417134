package envelope

import "fmt"

// Limits on what Write writes and Read accepts, so that one message's cost
// to decode, store and pass on stays bounded whoever sent it. Read refuses
// what Write would refuse, so anything Read returns can be written again.
//
// The CloudEvents spec sets no limit on one attribute; it expects every
// intermediary to forward, and every consumer to accept, events of up to
// 64 KB in all. NATS sets none either: headers and payload together must
// fit the server's max_payload (1 MiB by default).
const (
	// MaxExtensions is the most extension attributes one event may carry:
	// entries of Envelope.Extensions, or in a received message the
	// attributes other than the core ones, correlationid and causationid
	// (which have fields of their own and are not counted). The extensions
	// the CloudEvents project documents number about a dozen.
	MaxExtensions = 128

	// MaxValueBytes is the longest attribute value, in bytes of its UTF-8
	// text before percent-encoding (or after decoding). A longer value
	// alone would make the event larger than the 64 KB every CloudEvents
	// consumer is expected to accept.
	MaxValueBytes = 64 << 10

	// MaxExtensionNameBytes is the longest extension attribute name. The
	// spec recommends at most 20 characters; longer names are accepted up
	// to this limit.
	MaxExtensionNameBytes = 64
)

// valueProblem says why v cannot be an attribute value, or returns "" when
// it can: it is too long, or not a valid CloudEvents string.
func valueProblem(v string) string {
	if len(v) > MaxValueBytes {
		return lengthProblem(len(v))
	}
	return stringProblem(v)
}

// lengthProblem reports a value of n bytes, more than MaxValueBytes.
func lengthProblem(n int) string {
	return fmt.Sprintf("value is %d bytes long; attribute values are limited to %d bytes (envelope.MaxValueBytes)",
		n, MaxValueBytes)
}

// tooManyExtensions reports an event with n > MaxExtensions extensions.
func tooManyExtensions(n int) error {
	return fmt.Errorf("%w: %d extension attributes; at most %d are allowed (envelope.MaxExtensions) "+
		"besides correlationid and causationid", ErrMalformed, n, MaxExtensions)
}

// clipLen is how much of a received name or value an error message quotes.
const clipLen = 64

// clip shortens s for quoting in an error message, so that a hostile
// message cannot make its error, and the log line holding it, huge.
func clip(s string) string {
	if len(s) <= clipLen {
		return s
	}
	return fmt.Sprintf("%s...(%d bytes)", s[:clipLen], len(s))
}
