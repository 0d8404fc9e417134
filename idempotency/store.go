package idempotency

import (
	"context"
	"errors"
	"time"
)

// Errors reported by stores and by the middleware. Every error returned by
// this package that has one of these causes matches it with errors.Is.
var (
	// ErrNoKey means a message had no dedupe key: its ce-id was empty, the
	// function given to WithKey returned "", or a store was asked to claim a
	// Key with an empty ID.
	ErrNoKey = errors.New("choreo/idempotency: empty dedupe key")

	// ErrLeaseLost means a Complete, Extend or Release came too late: the
	// claim's lease ran out and another claim (or completion) has taken the
	// key since. Nothing was changed.
	ErrLeaseLost = errors.New("choreo/idempotency: lease lost to another claim")

	// ErrBusy is the cause of the error the middleware returns when another
	// consumer instance holds the key right now: the message is redelivered
	// later, by which time the holder has finished or its lease has run out.
	ErrBusy = errors.New("choreo/idempotency: key is being processed by another consumer instance")

	// ErrStoreUnavailable wraps every failure of a store call made by the
	// middleware, so that a store outage can be told apart from a handler
	// failure.
	ErrStoreUnavailable = errors.New("choreo/idempotency: dedupe store unavailable")

	// ErrFull means a MemoryStore reached its maximum number of entries and
	// every entry is a live claim, so none can be evicted. Raise
	// WithMaxEntries above the number of messages handled at once.
	ErrFull = errors.New("choreo/idempotency: memory store is full of live claims")
)

// Key identifies one unit of work in a Store. The middleware uses the
// consumer name as Scope, and the message's ce-source and ce-id as Source
// and ID (CloudEvents identifies an event by the two together: two
// producers may both send id "1"), or the business key from WithKey as ID
// with an empty Source. One store can so serve many handlers without their
// keys meeting. Every field is an opaque string of any bytes; ID must not
// be empty. Keys that differ in any field are different keys.
type Key struct {
	Scope  string
	Source string
	ID     string
}

// String returns "scope/id", or "scope/source/id" with a source, for logs.
func (k Key) String() string {
	if k.Source == "" {
		return k.Scope + "/" + k.ID
	}
	return k.Scope + "/" + k.Source + "/" + k.ID
}

// Status is the outcome of Store.Claim.
type Status uint8

const (
	// Acquired means the caller now holds the key until Claim.Until and
	// must end the claim with Complete or Release (or let the lease run out).
	Acquired Status = iota + 1
	// Done means the key was completed and is still retained: the work
	// must not run again.
	Done
	// Busy means another claim holds the key and its lease runs until
	// Claim.Until.
	Busy
)

// String returns the status name in lower case ("acquired", "done", "busy").
func (s Status) String() string {
	switch s {
	case Acquired:
		return "acquired"
	case Done:
		return "done"
	case Busy:
		return "busy"
	default:
		return "invalid"
	}
}

// Claim is what Store.Claim reports, and the handle the holder passes back
// to Extend, Complete and Release. It is a plain value, safe to copy.
type Claim struct {
	// Key is the key that was claimed.
	Key Key
	// Status says whether the caller got the key.
	Status Status
	// Token identifies this particular claim, as a fencing token: Complete,
	// Extend and Release act only if the key is still held by this token.
	// Its meaning is the store's (a counter, a KV revision, a row version).
	// Only meaningful when Status is Acquired.
	Token uint64
	// Until is when the lease ends (Acquired, Busy) or, for Done, when the
	// record may be forgotten. The zero Time means the store cannot tell.
	Until time.Time
}

// Store keeps dedupe records for the middleware. A Store must be safe for
// concurrent use by many goroutines and, when shared, by many processes.
//
// A key is in one of three states: free (never seen, released, or its
// record expired), claimed (held by one Token until its lease ends) or done
// (completed, kept for the retention given to Complete). The contract:
//
//   - Claim atomically takes a free key for lease and returns Acquired with a
//     new Token that no earlier claim of that key had. Of any number of
//     concurrent Claims of one free key, across goroutines and processes,
//     exactly one returns Acquired. A claimed key returns Busy with the
//     holder's Until; a done key returns Done. A claim whose lease ended
//     makes the key free: expiry is never extended by reads.
//   - Extend moves the lease end of the claim held by c.Token to now+lease
//     and returns the claim to use from then on (its Token may change).
//   - Complete turns the claim held by c.Token into a done record kept for
//     retention.
//   - Release makes the key held by c.Token free again, at once.
//   - Extend and Complete also succeed if the key has become free in the
//     meantime (the lease ran out and nobody claimed it since): nobody else
//     can have run the work, so they take the key again. Release of a free
//     key is a no-op. If another claim holds the key, or it is done by
//     another claim, all three return ErrLeaseLost and change nothing.
//   - Claim with an empty Key.ID returns an error matching ErrNoKey.
//   - A call whose ctx is done returns an error. A network store may still
//     have applied it: a claim its caller never learned about is freed when
//     its lease ends, which is what bounds every lease.
//   - Durations are lower bounds: a store may round leases and retention up
//     to its granularity (the KV store rounds up to whole seconds).
//
// A SQL database implements it with one table; see the package
// documentation for a sketch, and package outbox for one (NewInbox) that
// also implements TxStore. Run the conformance suite in
// idempotency/idempotencytest against any implementation.
type Store interface {
	// Claim takes key for lease if it is free and reports Acquired, or
	// reports Done or Busy without taking it.
	Claim(ctx context.Context, key Key, lease time.Duration) (Claim, error)
	// Extend renews the lease of a claim whose handler is still running.
	Extend(ctx context.Context, c Claim, lease time.Duration) (Claim, error)
	// Complete records the claimed key as done for retention.
	Complete(ctx context.Context, c Claim, retention time.Duration) error
	// Release frees the claimed key so that the next Claim acquires it.
	Release(ctx context.Context, c Claim) error
}

// TxStore is a Store that keeps its records in the database the handler
// writes to, so that the handler's effects and the key's done record commit
// in one transaction: a crash can no longer fall between the two, and an
// effect on that database happens exactly once. The middleware detects it
// (a type assertion) and, for a claim it acquired, calls RunInTx instead of
// running the handler and calling Complete. The database inbox of package
// outbox is one.
type TxStore interface {
	Store
	// RunInTx begins a transaction and calls work with a context that
	// carries it (the store's package has the accessor). If work succeeds,
	// RunInTx records the claim work returned as done for retention in that
	// transaction and commits it. If work fails, or the claim is no longer
	// held (ErrLeaseLost), or the commit fails, it rolls the transaction
	// back and returns the error; the middleware then releases the key so
	// that the retry runs the handler again.
	RunInTx(ctx context.Context, retention time.Duration, work func(ctx context.Context) (Claim, error)) error
}
