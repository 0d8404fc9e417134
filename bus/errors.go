package bus

import (
	"errors"
	"strings"
	"time"
)

// ErrClosed is returned by calls on a Bus once Close has begun: at once for
// new subscriptions, dead-letter calls and publishes from outside a handler;
// for publishes from handlers being drained, once the drain is over.
var ErrClosed = errors.New("choreo/bus: bus is closed")

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (a malformed
// request, a rule violation): the message is dead-lettered at once, without
// further attempts. Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterError asks for redelivery after a fixed delay.
type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter asks for the message to be redelivered after d instead of after
// the subscription's back-off (for example when a downstream service said
// "try again in 30s"). The attempt still counts towards WithMaxDeliver.
// RetryAfter(nil, d) returns nil; a d <= 0 redelivers at once.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, delay: d}
}

// retryDelay reports the delay requested with RetryAfter, if any.
func retryDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// ErrInvalidOption is returned (wrapped) for an option, group or setting
// that cannot be used; the message says which and what to use instead.
var ErrInvalidOption = errors.New("choreo/bus: invalid option")

// ErrIncompatible is returned (wrapped) when a stream or consumer already
// exists with a setting that cannot be changed in place, such as the
// retention policy or the deliver policy. The message names the setting;
// delete or rename the stream or consumer, or align the option, to proceed.
var ErrIncompatible = errors.New("choreo/bus: existing stream or consumer is incompatible")

// ErrDecode is wrapped in the dead-letter reason of a message that is not a
// CloudEvent or whose payload does not decode into the handler's type.
var ErrDecode = errors.New("choreo/bus: cannot decode message")

// optionError reports an invalid option whose cause is another choreo
// package's error (a topic name, a namespace, a group). Both sentinels
// match errors.Is, but the text carries one package prefix, not two:
// "choreo/bus: invalid option: group: invalid group or service name ...".
func optionError(what string, cause error) error {
	text := cause.Error()
	if rest, ok := strings.CutPrefix(text, "choreo/"); ok {
		if _, after, found := strings.Cut(rest, ": "); found {
			text = after
		}
	}
	return &optionErr{text: ErrInvalidOption.Error() + ": " + what + ": " + text, causes: []error{ErrInvalidOption, cause}}
}

type optionErr struct {
	text   string
	causes []error
}

func (e *optionErr) Error() string   { return e.text }
func (e *optionErr) Unwrap() []error { return e.causes }
