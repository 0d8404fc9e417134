// Package idempotencytest is the conformance suite for implementations of
// idempotency.Store. A store that passes it can sit behind
// idempotency.Middleware:
//
//	func TestPostgresStore(t *testing.T) {
//		idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
//			return newTestPostgresStore(t)
//		})
//	}
//
// The suite checks claim, complete and release, lease and retention expiry,
// extension, fencing of late writers after a lease ran out, concurrent
// claims of one key (exactly one wins), key separation for awkward keys, and
// input errors. Its subtests run in parallel and use keys unique to each
// run, so one store may serve them all. Leases are one second long (the
// least a per-message TTL allows), and a store gets up to ExpiryGrace past
// a lease or retention to notice it ended; the whole suite takes a few
// seconds.
package idempotencytest
