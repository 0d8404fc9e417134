package main

import (
	"context"
	"fmt"
	"time"
)

// scenario is one measured workload, run for several systems.
type scenario struct {
	name    string
	systems []string
	run     func(ctx context.Context, r *runner, s system, env runEnv, w *window) (result, error)
	// optional scenarios run only when -scenarios names them.
	optional bool
}

// scenarios lists the workloads in the order they run. raw, choreo and
// watermill run everywhere; raw-ce (raw plus choreo's CloudEvents headers)
// and watermill-acksync (its exactly-once ack setting) are there to explain
// the figures, not to be compared against.
func scenarios() []scenario {
	three := []string{"raw", "choreo", "watermill"}
	explained := []string{"raw", "raw-ce", "choreo", "watermill"}
	return []scenario{
		{"publish-sync", explained, runPublishSync, false},
		{"publish-async", explained, runPublishAsync, false},
		{"publish-batch", []string{"raw", "raw-ce", "choreo"}, runPublishBatch, false},
		{"end-to-end", append(explained, "watermill-acksync"), runEndToEnd, false},
		{"end-to-end-dedupe", []string{"choreo+memory", "choreo+kv"}, runEndToEnd, false},
		{"latency", three, runLatency, false},
		// What each CloudEvents header costs nats.go: raw-ce without one
		// header at a time, publishing asynchronously.
		{"headers", append([]string{"raw", "raw-ce"}, headerVariants()...), runPublishAsync, true},
	}
}

// runPublishSync publishes N messages one at a time, each waiting for its
// ack.
func runPublishSync(ctx context.Context, r *runner, s system, _ runEnv, w *window) (result, error) {
	w.start()
	for i := range r.cfg.n {
		p := Payload{Seq: int64(i), SentAt: time.Now().UnixNano(), Body: r.body}
		if err := s.PublishSync(ctx, &p); err != nil {
			return result{}, fmt.Errorf("message %d: %w", i, err)
		}
	}
	w.stop(time.Now())
	return r.stored(ctx, result{msgs: r.cfg.n})
}

// runPublishAsync pipelines N publishes and waits for every ack at the end.
func runPublishAsync(ctx context.Context, r *runner, s system, _ runEnv, w *window) (result, error) {
	w.start()
	for i := range r.cfg.n {
		p := Payload{Seq: int64(i), SentAt: time.Now().UnixNano(), Body: r.body}
		if err := s.PublishAsync(ctx, &p); err != nil {
			return result{}, fmt.Errorf("message %d: %w", i, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		return result{}, err
	}
	w.stop(time.Now())
	return r.stored(ctx, result{msgs: r.cfg.n})
}

// batchSystem is a system with a batch publishing API of its own (choreo's
// PublishBatch); the others publish a batch with PublishAsync and Flush,
// their fastest way.
type batchSystem interface {
	BeginBatch(ctx context.Context) error
	AddToBatch(ctx context.Context, p *Payload) error
	CommitBatch(ctx context.Context) error
}

// runPublishBatch publishes N messages in batches of -batch messages,
// waiting for each batch's final acknowledgement.
func runPublishBatch(ctx context.Context, r *runner, s system, env runEnv, w *window) (result, error) {
	bs, ok := s.(batchSystem)
	if !ok {
		return runPublishAsync(ctx, r, s, env, w)
	}
	w.start()
	for i := range r.cfg.n {
		if i%r.cfg.batch == 0 {
			if i > 0 {
				if err := bs.CommitBatch(ctx); err != nil {
					return result{}, fmt.Errorf("batch ending at message %d: %w", i-1, err)
				}
			}
			if err := bs.BeginBatch(ctx); err != nil {
				return result{}, err
			}
		}
		p := Payload{Seq: int64(i), SentAt: time.Now().UnixNano(), Body: r.body}
		if err := bs.AddToBatch(ctx, &p); err != nil {
			return result{}, fmt.Errorf("message %d: %w", i, err)
		}
	}
	if err := bs.CommitBatch(ctx); err != nil {
		return result{}, fmt.Errorf("last batch: %w", err)
	}
	w.stop(time.Now())
	return r.stored(ctx, result{msgs: r.cfg.n})
}

// stored records how many messages the broker holds: every publish must
// have been stored once (none lost, none dropped as a duplicate).
func (r *runner) stored(ctx context.Context, res result) (result, error) {
	n, err := r.broker.messages(ctx)
	if err != nil {
		return res, err
	}
	res.stored = int64(n)
	if n != uint64(res.msgs) {
		return res, fmt.Errorf("the broker stored %d messages, want %d", n, res.msgs)
	}
	return res, nil
}

// runEndToEnd starts one consumer group, then pipelines N publishes; the
// clock stops when the last message is handled. Every message must be
// handled.
func runEndToEnd(ctx context.Context, r *runner, s system, env runEnv, w *window) (result, error) {
	t := newTracker(r.cfg.n)
	if err := s.Subscribe(ctx, env.concurrency, t.handle); err != nil {
		return result{}, fmt.Errorf("subscribe: %w", err)
	}
	w.start()
	for i := range r.cfg.n {
		p := Payload{Seq: int64(i), SentAt: time.Now().UnixNano(), Body: r.body}
		if err := s.PublishAsync(ctx, &p); err != nil {
			return result{}, fmt.Errorf("message %d: %w", i, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		return result{}, err
	}
	if err := t.wait(r.handleTimeout(r.cfg.n)); err != nil {
		return result{}, err
	}
	w.stop(time.Unix(0, t.lastAt.Load()))
	return result{msgs: r.cfg.n, handled: t.distinct.Load(), dups: t.dups.Load()}, nil
}

// runLatency publishes at a fixed rate for the configured duration and
// records each message's latency from the moment it was due to be sent
// (not when the publisher got round to it, so a publisher that falls
// behind shows up in the figures) until its handler ran.
func runLatency(ctx context.Context, r *runner, s system, env runEnv, w *window) (result, error) {
	n := max(1, int(float64(r.cfg.rate)*r.cfg.duration.Seconds()))
	t := newTracker(n)
	if err := s.Subscribe(ctx, env.concurrency, t.handle); err != nil {
		return result{}, fmt.Errorf("subscribe: %w", err)
	}
	interval := time.Second / time.Duration(r.cfg.rate)
	w.start()
	begin := time.Now()
	for i := range n {
		due := begin.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		p := Payload{Seq: int64(i), SentAt: due.UnixNano(), Body: r.body}
		if err := s.PublishAsync(ctx, &p); err != nil {
			return result{}, fmt.Errorf("message %d: %w", i, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		return result{}, err
	}
	if err := t.wait(r.handleTimeout(n)); err != nil {
		return result{}, err
	}
	w.stop(time.Unix(0, t.lastAt.Load()))
	res := result{msgs: n, handled: t.distinct.Load(), dups: t.dups.Load()}
	res.setLatency(t)
	return res, nil
}

// handleTimeout is how long handlers may take after the last publish: far
// more than any system needs, so only a lost message times out.
func (r *runner) handleTimeout(n int) time.Duration {
	return 60*time.Second + time.Duration(n)*time.Millisecond
}
