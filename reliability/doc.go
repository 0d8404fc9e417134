// Package reliability holds choreo's fault-injection suite: tests that run
// the bus against real in-process JetStream servers (package embedded),
// inject faults while messages flow, and count what the broker
// acknowledged to publishers against what the handlers saw. A scenario
// fails if a single acknowledged message is never handled or, with the
// idempotency middleware, a single effect happens twice.
//
// The package has no API; it is only tests. The scenarios are:
//
//   - leader loss: a 3-node cluster with R3 streams, consumers and
//     dedupe bucket; events published at a steady rate while two instances
//     of one subscriber group handle them; the stream's leader is shut down
//     mid-run and brought back later, once without and once with the
//     idempotency middleware;
//   - instance crash: an instance's connection is cut, without Close, while
//     its handlers hold unacknowledged messages; the other instance handles
//     them after the ack wait;
//   - server down during publish: a synchronous publish returns an error
//     within its deadline, an asynchronous publish is never refused for the
//     lost connection (not even when its write hits the socket before the
//     client noticed the loss) and its future reports the outcome, and
//     publishing resumes when the server is back;
//   - backlog: a queue of events drains with bounded memory and without
//     stalls;
//   - poison share: a tenth of the messages always fail; exactly those are
//     dead-lettered, and the others are handled without waiting for them
//     (their latency is compared with a run without poison; both
//     publishers keep at most 16 healthy messages unhandled, so that a busy
//     machine slows the runs down instead of queueing messages for the
//     whole run);
//   - redelivery storm: handlers that fail for a while are retried no sooner
//     than their back-off allows;
//   - transactional outbox (package outbox, on SQLite and on a throwaway
//     PostgreSQL cluster from internal/pgtest): a service that dies between
//     commit and relay loses nothing and publishes no rolled-back order; a
//     relay that dies between publish and mark publishes each order once
//     (the broker drops the copies) or, past the duplicate window, applies
//     it once per consumer thanks to the database inbox; three relays on one
//     PostgreSQL database publish 10,000 orders each exactly once in
//     per-key order while one of them dies; the broker down for 10 s loses
//     nothing;
//   - database inbox: a handler that dies after committing its effect and
//     before the ack repeats no effect when the message comes back.
//
// Two regression tests keep SDK bugs the suite found from coming back: a
// crash of the dedupe inbox's leader right after a handler's effect (the
// effect happened twice), and closing a bus whose connection was cut while
// a message waited for a handler (a data race).
//
// Run the CI-sized suite with
//
//	go test -race ./reliability/
//
// and the full sizes (10,000 events through leader loss, a 100,000-event
// backlog) with
//
//	go test -race -timeout 60m ./reliability/ -full -v
//
// Every scenario prints one line of figures starting with "RELIABILITY"
// (key=value pairs in a fixed order), from which the tables in
// RELIABILITY.md at the repository root are made:
//
//	go test -race ./reliability/ -v | grep -o 'RELIABILITY .*'
//
// The suite must pass on a busy machine too (RELIABILITY.md, "Under CPU
// contention", has runs next to CPU-bound processes): its waits are on
// conditions, never fixed sleeps, and the figures it checks do not depend
// on how fast the machine is.
//
// Setting the environment variable CHAOS_DEBUG=1 sends every bus's log,
// debug level included, to standard error.
package reliability
