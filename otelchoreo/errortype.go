package otelchoreo

import (
	"context"
	"errors"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
)

// errorType is the error.type of a failed operation: a short class, never
// the error's text, so that metrics keep a handful of series per topic.
type errorType uint8

const (
	errNone errorType = iota
	errPanic
	errDecode
	errPermanent
	errTimeout
	errCanceled
	errClosed
	errMalformed
	errOther
	numErrorTypes
)

var errorTypeNames = [numErrorTypes]string{
	errNone:      "",
	errPanic:     "panic",     // the handler or a middleware panicked
	errDecode:    "decode",    // not a CloudEvent, or the payload does not decode
	errPermanent: "permanent", // the handler returned bus.Permanent
	errTimeout:   "timeout",   // a deadline passed (handler timeout, publish ctx)
	errCanceled:  "canceled",  // the context was cancelled
	errClosed:    "closed",    // the bus was closed
	errMalformed: "malformed", // the outgoing envelope was invalid
	errOther:     "_OTHER",    // any other failure, as the conventions name it
}

// settlementErrorType classifies a delivery's outcome; an acknowledged or
// released delivery has none.
func settlementErrorType(s bus.Settlement) errorType {
	if s.Decision != bus.DecisionRetry && s.Decision != bus.DecisionDeadLetter {
		return errNone
	}
	switch {
	case s.Panicked:
		return errPanic
	case errors.Is(s.Err, bus.ErrDecode):
		return errDecode
	case bus.IsPermanent(s.Err):
		return errPermanent
	}
	return commonErrorType(s.Err)
}

// publishErrorType classifies a failed publish.
func publishErrorType(err error) errorType {
	switch {
	case err == nil:
		return errNone
	case errors.Is(err, bus.ErrClosed):
		return errClosed
	case errors.Is(err, envelope.ErrMalformed):
		return errMalformed
	}
	return commonErrorType(err)
}

func commonErrorType(err error) errorType {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	case errors.Is(err, context.Canceled):
		return errCanceled
	}
	return errOther
}
