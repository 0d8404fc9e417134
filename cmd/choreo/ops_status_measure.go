package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/bus"
)

// A status measurement compares two snapshots of every group consumer,
// taken a window apart, while a core subscription counts the messages that
// arrive on every topic subject meanwhile (a core subscription sees every
// publish and disturbs no consumer). What a group finished in the window
// follows from conservation: backlog before + arrived - backlog after.

// measureSamples is how many snapshots a window takes: the number of
// instances pulling is the most seen in any of them, since a busy
// instance briefly holds no pull request open.
const measureSamples = 5

// measurement is what one window observed.
type measurement struct {
	at          time.Time
	window      time.Duration
	streams     []topicStream
	arrived     map[string]int           // by wire subject
	before      map[string]groupConsumer // by stream/consumer
	instances   map[string]int           // most pull requests seen, by stream/consumer
	deadBefore  map[string]int
	deadLetters map[string]int
}

// measure observes the namespace for one window.
func measure(ctx context.Context, b *bus.Bus, window, timeout time.Duration) (*measurement, error) {
	m := &measurement{window: window, arrived: map[string]int{}, before: map[string]groupConsumer{}, instances: map[string]int{}}
	var mu sync.Mutex
	done := false // set once counting ends: a late callback must not write
	count := func(msg *nats.Msg) {
		mu.Lock()
		if !done {
			m.arrived[msg.Subject]++
		}
		mu.Unlock()
	}
	prefix := ""
	if ns := b.Namespace(); ns != "" {
		prefix = ns + "."
	}
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	for _, subject := range []string{prefix + "cmd.>", prefix + "evt.>"} {
		s, err := b.Conn().Subscribe(subject, count)
		if err != nil {
			return nil, fmt.Errorf("subscribing to %s to count arrivals: %w", subject, err)
		}
		subs = append(subs, s)
	}
	if err := b.Conn().FlushTimeout(timeout); err != nil {
		return nil, fmt.Errorf("subscribing to count arrivals: %w", err)
	}
	snapshot := func() ([]topicStream, map[string]int, error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		streams, err := inventory(rctx, b)
		if err != nil {
			return nil, nil, err
		}
		dead, err := deadLetterCounts(rctx, b)
		return streams, dead, err
	}
	start := time.Now()
	streams, dead, err := snapshot()
	if err != nil {
		return nil, err
	}
	m.deadBefore = dead
	m.record(streams, true)
	for i := 1; i <= measureSamples; i++ {
		next := start.Add(window * time.Duration(i) / measureSamples)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Until(next)):
		}
		if streams, dead, err = snapshot(); err != nil {
			return nil, err
		}
		m.record(streams, false)
	}
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	subs = nil
	mu.Lock()
	done = true
	mu.Unlock()
	m.at, m.window, m.streams, m.deadLetters = time.Now(), time.Since(start), streams, dead
	return m, nil
}

// record notes a snapshot: the first as the start, every one for the
// instances pulling.
func (m *measurement) record(streams []topicStream, first bool) {
	for _, s := range streams {
		for _, gc := range s.Consumers {
			key := gc.Stream + "/" + gc.Name
			if first {
				m.before[key] = gc
			}
			m.instances[key] = max(m.instances[key], gc.Info.NumWaiting)
		}
	}
}

// groupRate is what a window says about one group consumer.
type groupRate struct {
	arrived, processed int
	pendingChange      int64
	instances          int
	arrivalRate        float64 // messages per second
	processingRate     float64
	known              bool // false for a consumer created during the window
}

// rateOf works out one consumer's rates from the window.
func (m *measurement) rateOf(gc groupConsumer) groupRate {
	key := gc.Stream + "/" + gc.Name
	before, known := m.before[key]
	r := groupRate{known: known, instances: m.instances[key], arrived: m.arrived[gc.Info.Config.FilterSubject]}
	if !known {
		return r
	}
	processed := int64(before.backlog()) + int64(r.arrived) - int64(gc.backlog())
	r.processed = int(max(processed, 0))
	r.pendingChange = int64(gc.backlog()) - int64(before.backlog())
	secs := m.window.Seconds()
	r.arrivalRate, r.processingRate = float64(r.arrived)/secs, float64(r.processed)/secs
	if r.processed > 0 && r.instances == 0 {
		r.instances = 1 // someone finished messages, so at least one runs
	}
	return r
}

// recommendation is how many instances a group needs to finish its
// backlog within target while keeping up with what arrives:
// ceil((arrival rate + backlog / target) / rate per instance). It is 0 for
// a group with nothing to do, and unknown (ok false) without a rate per
// instance.
func recommendation(backlog uint64, arrivalRate, perInstance float64, target time.Duration) (n int, ok bool) {
	if backlog == 0 && arrivalRate == 0 {
		return 0, true
	}
	if perInstance <= 0 {
		return 0, false
	}
	need := (arrivalRate + float64(backlog)/target.Seconds()) / perInstance
	return max(1, int(math.Ceil(need-1e-9))), true
}
