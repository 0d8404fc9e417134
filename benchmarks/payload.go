package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Payload is the message every system sends: a JSON struct padded to about
// -size bytes. Seq identifies the message for the completeness check;
// SentAt (Unix nanoseconds) is when it was due to be sent, for latency.
type Payload struct {
	Seq    int64  `json:"seq"`
	SentAt int64  `json:"sent_at"`
	Body   string `json:"body"`
}

// newBody returns the padding that makes a Payload marshal to about size
// bytes (with a seq and timestamp of typical width), and the resulting size.
func newBody(size int) (string, int, error) {
	probe := Payload{Seq: 1_000_000, SentAt: time.Now().UnixNano()}
	base, err := json.Marshal(probe)
	if err != nil {
		return "", 0, err
	}
	pad := max(size-len(base), 0)
	body := strings.Repeat("choreo-benchmark-", pad/17+1)[:pad]
	probe.Body = body
	full, err := json.Marshal(probe)
	if err != nil {
		return "", 0, err
	}
	return body, len(full), nil
}

// tracker records which messages a consumer handled, once each, and their
// publish-to-handler latency. Its methods are safe for concurrent use.
type tracker struct {
	n        int
	seen     []atomic.Uint64 // bitset over Seq
	latency  []int64         // nanoseconds, by Seq; written by the first handling only
	distinct atomic.Int64
	dups     atomic.Int64
	done     chan struct{}
	lastAt   atomic.Int64 // Unix nanoseconds of the last first-time handling
}

func newTracker(n int) *tracker {
	return &tracker{
		n:       n,
		seen:    make([]atomic.Uint64, (n+63)/64),
		latency: make([]int64, n),
		done:    make(chan struct{}),
	}
}

// handle is called by every system's handler with the decoded payload.
func (t *tracker) handle(p *Payload) {
	now := time.Now().UnixNano()
	if p.Seq < 0 || p.Seq >= int64(t.n) {
		t.dups.Add(1) // not ours: counted as noise, never as progress
		return
	}
	word, bit := p.Seq/64, uint64(1)<<(p.Seq%64)
	if t.seen[word].Or(bit)&bit != 0 {
		t.dups.Add(1)
		return
	}
	t.latency[p.Seq] = now - p.SentAt
	t.lastAt.Store(now)
	if t.distinct.Add(1) == int64(t.n) {
		close(t.done)
	}
}

// wait blocks until every message was handled or the timeout passed.
func (t *tracker) wait(timeout time.Duration) error {
	select {
	case <-t.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("handled %d of %d messages (%d duplicates) within %s", t.distinct.Load(), t.n, t.dups.Load(), timeout)
	}
}

// percentiles returns the latency quantiles qs (0..1) of every handled
// message; call it after wait succeeded.
func (t *tracker) percentiles(qs ...float64) []time.Duration {
	sorted := append([]int64(nil), t.latency...)
	slices.Sort(sorted)
	out := make([]time.Duration, len(qs))
	for i, q := range qs {
		idx := min(int(q*float64(len(sorted))), len(sorted)-1)
		out[i] = time.Duration(sorted[idx])
	}
	return out
}
