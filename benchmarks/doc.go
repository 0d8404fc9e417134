// Command benchmarks measures choreo against nats.go's jetstream package
// used directly ("raw") and against Watermill with watermill-nats, on one
// embedded JetStream server with file storage, in one run.
//
//	cd benchmarks && go run . [-n 100000] [-size 100] [-quick] [-concurrency 16]
//	    [-rate 5000] [-duration 10s] [-runs 3] [-batch 10000] [-profile DIR]
//
// Systems: raw (nats.go used well), raw-ce (raw plus choreo's CloudEvents
// headers, to explain the gap), choreo (the SDK's public API), watermill and
// watermill-acksync (watermill-nats pkg/nats in JetStream mode, async and
// sync acks). Scenarios: publish-sync, publish-async, publish-batch
// (choreo's PublishBatch in batches of -batch messages against raw's
// PublishAsync), end-to-end, end-to-end-dedupe (choreo with the memory and
// KV idempotency stores), latency (fixed rate) and, only when named with
// -scenarios, headers (raw-ce without one CloudEvents header at a time). The server runs in a child process (this binary with
// -serve) so that memstats, CPU and profiles measure the clients alone.
//
// It prints a table (msgs/s and the runs' range, MB/s, allocations and bytes
// per message, client and server CPU per message, latency percentiles) and
// then, last, one "ratio <scenario> a/b: x.xx"
// line per comparison. See BENCHMARKS.md at the repository root.
package main
