package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"
)

// result is one measured run of one system in one scenario.
type result struct {
	msgs    int
	elapsed time.Duration
	// allocs and bytes are runtime.MemStats deltas (Mallocs, TotalAlloc)
	// over the measured window divided by msgs: publisher and consumer
	// clients together; the server runs in another process.
	allocs, bytes float64
	// clientCPU is this process's CPU time over the window; serverCPU the
	// server process's (-1 when the server is not a child process).
	clientCPU, serverCPU time.Duration
	latency              [3]time.Duration // p50, p99, p99.9
	hasLatency           bool
	// handled counts distinct messages handled (consuming scenarios);
	// stored counts messages the stream holds after a publishing scenario.
	handled, stored int64
	dups            int64
}

func (r *result) setLatency(t *tracker) {
	q := t.percentiles(0.50, 0.99, 0.999)
	r.latency = [3]time.Duration{q[0], q[1], q[2]}
	r.hasLatency = true
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.msgs) / r.elapsed.Seconds()
}

// window is the measured part of a run: from start to stop it holds the
// clock, the memstats and, when profiling, a CPU profile and two
// allocation snapshots (pprof -base before.allocs after.allocs gives the
// window's allocations).
type window struct {
	profileTo string // file name prefix; "" for no profile
	serverPID int    // 0: no server process to account
	t0, t1    time.Time
	m0, m1    runtime.MemStats
	c0, c1    time.Duration // client CPU
	s0, s1    time.Duration // server CPU
	cpu       *os.File
	err       error
}

func (w *window) start() {
	runtime.GC()
	if w.profileTo != "" {
		w.keep(writeAllocs(w.profileTo + ".before.allocs.pprof"))
		if f, err := os.Create(w.profileTo + ".cpu.pprof"); err != nil {
			w.keep(err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			w.keep(err)
		} else {
			w.cpu = f
		}
	}
	runtime.ReadMemStats(&w.m0)
	w.s0 = w.serverCPU()
	w.c0 = clientCPU()
	w.t0 = time.Now()
}

func (w *window) serverCPU() time.Duration {
	if w.serverPID == 0 {
		return -1
	}
	d, err := processCPU(w.serverPID)
	if err != nil {
		w.keep(err)
	}
	return d
}

func (w *window) stop(end time.Time) {
	w.t1 = end
	w.c1 = clientCPU()
	w.s1 = w.serverCPU()
	runtime.ReadMemStats(&w.m1)
	if w.cpu != nil {
		pprof.StopCPUProfile()
		w.keep(w.cpu.Close())
		w.cpu = nil
		w.keep(writeAllocs(w.profileTo + ".after.allocs.pprof"))
	}
}

func (w *window) keep(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// fill completes res with the window's clock and memory figures.
func (w *window) fill(res *result) {
	res.elapsed = w.t1.Sub(w.t0)
	if res.msgs > 0 {
		res.allocs = float64(w.m1.Mallocs-w.m0.Mallocs) / float64(res.msgs)
		res.bytes = float64(w.m1.TotalAlloc-w.m0.TotalAlloc) / float64(res.msgs)
	}
	res.clientCPU = w.c1 - w.c0
	res.serverCPU = -1
	if w.s0 >= 0 {
		res.serverCPU = w.s1 - w.s0
	}
}

// cpuPerMsg is CPU time per message in microseconds (-1: not measured).
func cpuPerMsg(d time.Duration, msgs int) float64 {
	if d < 0 || msgs == 0 {
		return -1
	}
	return float64(d) / float64(time.Microsecond) / float64(msgs)
}

func writeAllocs(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// median returns the median of xs (the mean of the middle two for an even
// count); xs is reordered.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// summary is the median over runs of each figure of one scenario and
// system (each column's median on its own).
type summary struct {
	scenario, system string
	runs             int
	rate, mbps       float64
	allocs, bytes    float64
	clientUS         float64 // client CPU µs per message
	serverUS         float64 // server CPU µs per message, -1 if unknown
	latency          [3]time.Duration
	hasLatency       bool
	dups             int64
	results          []result // every run, in run order
}

func summarize(scenario, system string, rs []result, payloadSize int) summary {
	s := summary{scenario: scenario, system: system, runs: len(rs), results: rs}
	pick := func(f func(result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	s.rate = pick(result.rate)
	s.mbps = s.rate * float64(payloadSize) / 1e6
	s.allocs = pick(func(r result) float64 { return r.allocs })
	s.bytes = pick(func(r result) float64 { return r.bytes })
	s.clientUS = pick(func(r result) float64 { return cpuPerMsg(r.clientCPU, r.msgs) })
	s.serverUS = pick(func(r result) float64 { return cpuPerMsg(r.serverCPU, r.msgs) })
	for i := range s.latency {
		s.latency[i] = time.Duration(pick(func(r result) float64 { return float64(r.latency[i]) }))
	}
	s.hasLatency = len(rs) > 0 && rs[0].hasLatency
	for _, r := range rs {
		s.dups += r.dups
	}
	return s
}

// rateRange is the slowest and fastest run's msgs/s.
func (s summary) rateRange() (lo, hi float64) {
	for i, r := range s.results {
		x := r.rate()
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
	}
	return lo, hi
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}
