// Package idempotency makes message handlers idempotent: a message that
// arrives again is acknowledged without running its handler a second time.
//
// JetStream delivers at least once. A handler sees a message again when its
// acknowledgement was lost, when its instance crashed mid-way, when an
// operator redelivers it from the dead-letter queue, and when a publisher
// retried after the broker's duplicate window. Middleware keeps an inbox of
// handled keys in a Store shared by every instance of the service:
//
//	store, err := idempotency.NewKVStore(ctx, b.JetStream(), "billing_inbox")
//	if err != nil { ... }
//	sub, err := bus.Subscribe(ctx, b, topics.OrderPlacedV1Event, "billing", chargeOrder,
//		bus.Use(idempotency.Middleware(store)))
//
// # What the middleware does
//
// For each delivery it claims the message's key for a lease, then:
//
//   - runs the handler; on success it records the key as done (for the
//     retention, 24h by default) and acks;
//   - on failure (an error, or a panic) it releases the key and returns the
//     failure, so the retry runs the handler again: a failure is never
//     recorded as done;
//   - if the key is already done it acks without running the handler;
//   - if another instance holds the key right now, it does not run the
//     handler but asks for redelivery later (bus.RetryAfter with an error
//     matching ErrBusy): by then the holder has finished, and the copy is
//     acked as a duplicate, or has failed or died, and the copy runs;
//   - if the store cannot be reached it returns an error matching
//     ErrStoreUnavailable, so the message is retried later; it never runs
//     the handler unguarded unless WithFailOpen says so.
//
// The key is the pair (consumer name, ce-id) by default, so every
// subscriber group keeps its own records. WithKey derives the key from the
// message instead, for work identified by a business fact ("charge order
// 42 once") whatever the messages about it are called.
//
// Put the middleware inside any middleware that may fail a message after
// the handler succeeded: a failure outside it, like a lost ack, leads to a
// redelivery that finds the key done.
//
// # Leases
//
// A claim holds its key until its lease ends (WithLease, 30s by default).
// While the handler runs, the middleware renews the lease every third of
// it, so the lease does not limit how long a handler may take; it limits how
// long the key of an instance that died stays blocked. Keep the lease at
// most the subscription's ack wait: then, when the broker redelivers a dead
// instance's message, the key is already free and the message runs at once.
//
// A copy that finds its key busy is redelivered after WithBusyDelay (2s),
// doubling per attempt, but never later than just after the holder's lease
// ends. Each of these redeliveries counts towards bus.WithMaxDeliver; the
// defaults fit the bus's defaults (see DefaultBusyDelay), and handlers that
// run longer than their lease want a larger MaxDeliver.
//
// If the done record cannot be written after the handler succeeded (the
// store is failing over, say), the middleware retries it until the claim's
// lease ends: the claim keeps every copy out until then, so a record written
// late is still in time, even when the message's own ack was lost too.
//
// Exactly once holds for the handler's effects as long as the handler
// finishes within its lease or renews it. Two gaps remain, both logged: an
// instance that dies after the handler's effect but before the done record
// is written (or whose store stays unreachable until the lease ends) leaves
// a claim that expires, and the next copy runs again; and a handler whose
// lease could not be renewed (the store unreachable for a whole lease) may
// run beside a second one. Handlers whose effects must
// never repeat should also make the effect itself conditional, for example
// a unique constraint on the order number in the same transaction.
//
// # Stores
//
// MemoryStore keeps records in the process: no round trips and no
// allocation on the duplicate path, but private to one instance and lost on
// restart. Use it for single-instance services and tests.
//
// KVStore keeps them in a JetStream key-value bucket that every instance of
// the service shares (one bucket per service is the usual choice; keys are
// scoped by consumer anyway). A claim is an atomic create-if-absent of the
// key with a per-key TTL equal to the lease; completion replaces the record
// with a "done" record whose TTL is the retention; release purges it. Every
// write after the claim names the revision the writer last saw, which
// settles the races:
//
//   - Two instances claiming one key: the server accepts exactly one create.
//   - A holder whose lease ran out and whose key was claimed by another
//     instance: its renewal, completion or release names a revision that is
//     gone and is refused (ErrLeaseLost), so it cannot overwrite the new
//     claim or mark done a key whose handler is still running elsewhere.
//   - A holder whose lease ran out with nobody claiming since: its completion
//     finds the key free and records it done, which is right since no one
//     else can have run the handler.
//   - A record expiring while being read: the claim tries the create again.
//
// # KV store throughput
//
// Each handled message costs the KV store two conditional writes (the
// claim, then the done record), each a JetStream publish with its
// acknowledgement, on top of the message's own delivery and ack. That is
// what bounds its throughput: about 12-15k messages/s at concurrency 16 on
// two cores shared by server and client, where a plain consumer handles
// 50k+. The bound is CPU, not waiting: measured end to end on a busy
// two-core machine, a plain consumer spends about 64µs of CPU per message
// (client and server together) and the KV inbox adds about 130µs, some 65µs
// per conditional write, spent on the publish, its acknowledgement and the
// stream's write loop, not on the disk (memory storage gains little). On a
// quiet machine, 12-15k messages/s mean 130-170µs of the two cores per
// message, the same picture. 25k messages/s on two cores would need the whole path
// under 80µs per message: a plain consumer and a single write already cost
// more.
//
// Two ways of overlapping the writes were measured (BenchmarkKVDoneRecord
// in this package's tests, and the end-to-end-dedupe scenario of the benchmarks program with the
// middleware changed by hand) and are not used:
//
//   - Writing the done record asynchronously (the same conditional write,
//     published with the asynchronous JetStream API) and moving on. On its
//     own it takes the store from 6-10k to 10-15k claims and completions
//     per second, but end to end it gained 7-11% (CPU per message down
//     10-15%), because it saves waiting, not work. It also needs a choice
//     this package cannot make well. Acknowledging the message only once
//     the record is confirmed needs a way for middleware to settle a
//     message after returning, which the bus does not have; and leaving a
//     message whose record failed unacknowledged is weaker than today, not
//     equal: its redelivery finds the claim held, then expired, and runs
//     the handler again (a crash after the effect), where the synchronous
//     record is retried until the lease ends and is still in time when the
//     store fails over (the reliability tests cover that case).
//     Acknowledging at once and retrying in the background is no worse
//     after a crash, but a process that exits with records in flight
//     leaves claims that expire instead of done records, a gap the
//     synchronous record closes on a graceful shutdown.
//   - Claiming ahead, while messages wait in the client for a worker. It
//     amounts to more writes in flight, which raising the concurrency from
//     16 to 64 measures: up to 15% more throughput and 10% less CPU per
//     message, which bus.WithConcurrency gives without new code. A claim
//     taken ahead would also hold its key for a message no worker has
//     started.
//
// The designs that write once per message give something up: skipping the
// claim and writing only "done" lets two instances run one key at the same
// time; writing the claim with the retention as its TTL and no done record
// cannot tell a finished handler from a crashed holder, so a crash would
// mark the key done; an atomic batch of several keys' writes fails as a
// whole when one key conflicts. The store keeps both writes, each waited
// for before the message is acknowledged: a claim that expires when its
// holder dies, and a done record written only after the handler
// succeeded. When a service needs more, give the bucket's server cores of
// its own, raise bus.WithConcurrency (more handlers overlap their writes),
// or use WithKey to deduplicate on a business key only where it matters.
//
// Expiry runs on the server's clock, so instances' clocks do not matter; TTLs
// have one-second granularity, so leases and retention are rounded up to
// whole seconds. Keys are made safe for KV: a consumer name or ID made of
// letters, digits, '-' and '_' is kept readable ("billing__v1_order_placed.
// 0190e0b4-..."), any other is base64url-encoded behind '=', and one longer
// than 96 bytes is replaced by its SHA-256 behind "==".
//
// # Writing a store
//
// Any database with an atomic insert-if-absent can hold the records; the
// Store documentation gives the contract and idempotencytest.Run checks it.
// A SQL sketch, with the lease and retention end in one column and a row
// version as the fencing token:
//
//	CREATE TABLE inbox (
//	    scope   text        NOT NULL,
//	    id      text        NOT NULL,
//	    done    boolean     NOT NULL,
//	    token   bigint      NOT NULL,   -- from a sequence; new for every claim
//	    until   timestamptz NOT NULL,   -- lease end, or retention end when done
//	    PRIMARY KEY (scope, id)
//	);
//
//	-- Claim: take the key if it is absent or expired; the returned row says
//	-- Acquired when its token is the one just drawn, else Done or Busy.
//	INSERT INTO inbox AS i (scope, id, done, token, until)
//	VALUES ($1, $2, false, nextval('inbox_token'), now() + $3)
//	ON CONFLICT (scope, id) DO UPDATE
//	    SET done = false, token = EXCLUDED.token, until = EXCLUDED.until
//	    WHERE i.until <= now()
//	RETURNING done, token, until;
//	-- no row returned: the key is held; SELECT done, until to say Done or Busy.
//
//	-- Extend and Complete: only the holder (or anyone, once the key is free).
//	UPDATE inbox SET until = now() + $4, done = $5
//	WHERE scope = $1 AND id = $2 AND (token = $3 OR until <= now());
//	-- no row updated: INSERT ... ON CONFLICT DO NOTHING for a key deleted
//	-- meanwhile, or ErrLeaseLost.
//
//	-- Release: free the key held by the token.
//	DELETE FROM inbox WHERE scope = $1 AND id = $2 AND token = $3 AND NOT done;
//
//	-- Retention: a periodic DELETE FROM inbox WHERE until < now() - '1 hour'.
//
// # Publish-side and consumer-side dedupe
//
// The two layers complement each other. The broker drops a publish whose
// Nats-Msg-Id (the ce-source and ce-id) it has already stored within the stream's
// duplicate window (2 minutes by default, bus.WithDuplicateWindow): a
// publisher that retries because an ack was lost does not create a second
// message, and no consumer ever sees it. This middleware catches what the
// broker cannot: the same message delivered again (lost consumer ack,
// crash, dead-letter redelivery), and copies published after the window, or
// with a fresh Nats-Msg-Id, or as a distinct message about the same
// business fact (WithKey). Keep the retention longer than the longest a
// publisher may keep retrying, and the duplicate window short enough for
// the broker's memory.
//
// The trap is the window's other edge: inside it, a second publish with the
// same ID is dropped even when it was meant as a new message, such as a
// corrected event re-sent under the old ID, or a message re-published by
// hand after its consumer dead-lettered it. The publish succeeds
// (bus.Receipt.Duplicate reports it) and nothing is delivered. Give every
// new message a new ID (bus.WithID only for true retries) and put a dead
// letter back with bus.Redeliver, which keeps its ce-id under a new
// Nats-Msg-Id and reaches only the consumer that parked it; the middleware
// runs it because a failure was never recorded as done.
//
// # Concurrency
//
// Middleware, MemoryStore and KVStore are safe for concurrent use; one
// store may serve many handlers and subscriptions at once.
package idempotency
