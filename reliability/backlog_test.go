package reliability_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// Backlog: events pile up while their subscriber group is down (here: not
// yet started); when it starts, it drains them. The client buffers only as
// many messages as it has handlers, so memory stays bounded whatever the
// backlog, and the drain proceeds without stalls. Memory is the heap of
// the test process, which also holds the in-process server (its stream
// caches) and the ledger of the test: the figure is an upper bound of what
// a service would use.
func TestChaosBacklog(t *testing.T) {
	// Not parallel: the heap and throughput figures are the process's.
	n := sized(20000, 100000)
	const concurrency = 32
	ctx := testContext(t, sized(5*time.Minute, 30*time.Minute))
	srv := bustest.NewServer(t)
	const ns = "backlog"
	l := newLedger(n)
	pub := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("publisher"))

	queueStart := time.Now()
	const window = 1000
	for from := 0; from < n; from += window {
		futures := make([]*bus.Future, 0, window)
		for seq := from; seq < min(from+window, n); seq++ {
			f, err := bus.PublishAsync(ctx, pub, orderPlaced, order{Seq: seq, SentAt: time.Now().UnixNano()})
			require.NoError(t, err)
			futures = append(futures, f)
		}
		for _, f := range futures {
			r, err := f.Wait(ctx)
			require.NoError(t, err)
			l.ack(r.ID, 0)
		}
	}
	queueTime := time.Since(queueStart)

	baseline := liveHeap()
	mem := sampleHeap(50 * time.Millisecond)
	progress := progressLog{at: make([]time.Time, 0, n)}
	drainStart := time.Now()
	worker := connect(t, srv.ClientURL(), bus.WithNamespace(ns), bus.WithSource("worker"))
	sub, err := bus.Subscribe(ctx, worker, orderPlaced, "effects", func(_ context.Context, m *bus.Message[order]) error {
		if l.effect(m.Envelope.ID, "worker", 0) {
			progress.tick()
		}
		return nil
	}, bus.WithConcurrency(concurrency))
	require.NoError(t, err)
	waitUntil(t, sized(5*time.Minute, 30*time.Minute), l.allHandled, func() string {
		return fmt.Sprintf("%d of %d not handled", l.counts().lost, n)
	})
	drainTime := time.Since(drainStart)
	peak := mem.stop()
	growth := peak.live - min(peak.live, baseline)
	settled(t, worker, eventStream(ns), sub.Consumer(), time.Minute)

	windows := progress.perSecond(drainStart)
	slowest, fastest := n, 0
	for _, w := range windows[:max(len(windows)-1, 1)] { // the last second is partial
		slowest, fastest = min(slowest, w), max(fastest, w)
	}
	longestStall := progress.longestGap(drainStart)
	t.Logf("handled per second of the drain: %v", windows)
	cnt := l.counts()
	report(t, "backlog",
		"messages", n,
		"fault", "subscriber group down while the backlog builds",
		"acked", cnt.acked,
		"handled", cnt.handled,
		"lost", cnt.lost,
		"dup_effects", cnt.dupEffects,
		"queue_time", queueTime,
		"drain_time", drainTime,
		"drain_rate_per_s", float64(n)/drainTime.Seconds(),
		"slowest_second", slowest,
		"fastest_second", fastest,
		"longest_stall", longestStall,
		"live_heap_baseline_mb", float64(baseline)/(1<<20),
		"live_heap_peak_mb", float64(peak.live)/(1<<20),
		"live_heap_growth_mb", float64(growth)/(1<<20),
		"heap_inuse_peak_mb", float64(peak.inUse)/(1<<20),
		"concurrency", concurrency,
	)
	require.Equal(t, n, cnt.acked)
	require.Zero(t, cnt.lost)
	require.Zero(t, cnt.dupEffects)
	// Bounded memory: the drain may not hold the backlog. 100,000 events of
	// this size are ~60 MB with their headers; the live heap (the bus, the
	// in-process server's caches; the ledger was sized up front) grows by
	// far less, and by about as much for 10,000 as for 100,000.
	require.Less(t, growth, uint64(maxLiveHeapGrowth), "the live heap grew by %d MB while draining", growth>>20)
	require.Less(t, longestStall, 5*time.Second, "the drain stalled")
}

// maxLiveHeapGrowth bounds how far the live heap may grow above its
// baseline while a backlog drains, whatever the backlog's size.
const maxLiveHeapGrowth = 48 << 20

// heapSampler records, until stopped, the peak of the heap in use (sampled
// often, garbage included) and the peak of the live heap (sampled after a
// collection, four times a second, and when stopped).
type heapSampler struct {
	done chan struct{}
	out  chan heapPeaks
}

type heapPeaks struct{ inUse, live uint64 }

func sampleHeap(every time.Duration) *heapSampler {
	s := &heapSampler{done: make(chan struct{}), out: make(chan heapPeaks, 1)}
	go func() {
		fast := time.NewTicker(every)
		defer fast.Stop()
		slow := time.NewTicker(250 * time.Millisecond)
		defer slow.Stop()
		var p heapPeaks
		var ms runtime.MemStats
		for {
			select {
			case <-s.done:
				p.live = max(p.live, liveHeap())
				s.out <- p
				return
			case <-fast.C:
				runtime.ReadMemStats(&ms)
				p.inUse = max(p.inUse, ms.HeapInuse)
			case <-slow.C:
				runtime.GC()
				runtime.ReadMemStats(&ms)
				p.live = max(p.live, ms.HeapAlloc)
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peaks.
func (s *heapSampler) stop() heapPeaks {
	close(s.done)
	return <-s.out
}

// liveHeap is the heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// progressLog records when each message was handled.
type progressLog struct {
	mu sync.Mutex
	at []time.Time
}

func (p *progressLog) tick() {
	now := time.Now()
	p.mu.Lock()
	p.at = append(p.at, now)
	p.mu.Unlock()
}

// perSecond counts the messages handled in each second since start.
func (p *progressLog) perSecond(start time.Time) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, at := range p.at {
		i := int(at.Sub(start) / time.Second)
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i]++
	}
	return out
}

// longestGap is the longest time without progress, from start to the last
// message.
func (p *progressLog) longestGap(start time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var gap time.Duration
	prev := start
	for _, at := range p.at {
		if at.After(prev) {
			gap = max(gap, at.Sub(prev))
			prev = at
		}
	}
	return gap
}
