package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// system is one way of moving Payloads through JetStream. A fresh system is
// created for every measured run, on a fresh stream, and closed after it.
// Publish methods are called from one goroutine; the handler given to
// Subscribe runs on the system's own goroutines.
type system interface {
	// PublishSync publishes one message and waits for the broker's ack.
	PublishSync(ctx context.Context, p *Payload) error
	// PublishAsync starts publishing one message without waiting for its
	// ack; Flush waits for every ack and reports any failure.
	PublishAsync(ctx context.Context, p *Payload) error
	Flush(ctx context.Context) error
	// Subscribe starts one consumer group that runs handle for every
	// message, with `concurrency` handlers at once, acking each after
	// handle returns.
	Subscribe(ctx context.Context, concurrency int, handle func(*Payload)) error
	Close(ctx context.Context) error
}

// runEnv is what a system needs to set itself up for one run.
type runEnv struct {
	url string
	// id is unique per run ("r12"): it names the run's stream, namespace or
	// topic, so every run starts on a fresh stream.
	id          string
	concurrency int
	// publishers is how many goroutines pipeline Watermill's blocking
	// Publish in the async scenarios (it has no asynchronous publish).
	publishers int
}

// systemKind names a system and builds it.
type systemKind struct {
	name  string
	setup func(ctx context.Context, env runEnv) (system, error)
}

func systemKinds() map[string]systemKind {
	kinds := map[string]systemKind{
		"raw":               {"raw", func(ctx context.Context, env runEnv) (system, error) { return newRaw(ctx, env, false, "") }},
		"raw-ce":            {"raw-ce", func(ctx context.Context, env runEnv) (system, error) { return newRaw(ctx, env, true, "") }},
		"choreo":            {"choreo", func(ctx context.Context, env runEnv) (system, error) { return newChoreo(ctx, env, dedupeNone) }},
		"choreo+memory":     {"choreo+memory", func(ctx context.Context, env runEnv) (system, error) { return newChoreo(ctx, env, dedupeMemory) }},
		"choreo+kv":         {"choreo+kv", func(ctx context.Context, env runEnv) (system, error) { return newChoreo(ctx, env, dedupeKV) }},
		"watermill":         {"watermill", func(ctx context.Context, env runEnv) (system, error) { return newWatermill(ctx, env, false) }},
		"watermill-acksync": {"watermill-acksync", func(ctx context.Context, env runEnv) (system, error) { return newWatermill(ctx, env, true) }},
	}
	for _, name := range headerVariants() {
		omit := strings.TrimPrefix(strings.TrimPrefix(name, "raw-ce"), "-")
		kinds[name] = systemKind{name, func(ctx context.Context, env runEnv) (system, error) { return newRaw(ctx, env, true, omit) }}
	}
	return kinds
}

// waitDone waits for ch to close, at most until ctx is done.
func waitDone(ctx context.Context, ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// ackWait is the consumers' ack wait for every system: long enough that no
// message is redelivered during a run on a busy 2-core machine.
const ackWait = 30 * time.Second
