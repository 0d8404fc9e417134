package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// config is everything a benchmark run is parameterised by.
type config struct {
	n           int
	size        int
	concurrency int
	rate        int
	duration    time.Duration
	runs        int
	publishers  int
	batch       int // messages per batch in publish-batch
	profileDir  string
	scenarios   []string // empty: all
	systems     []string // empty: all of each scenario's
	server      serverMode
	url         string
}

// runner runs the scenarios against one broker and collects the results.
type runner struct {
	cfg         config
	broker      *broker
	body        string
	payloadSize int
	seq         int
	log         io.Writer
}

// report is the outcome of a whole benchmark run.
type report struct {
	cfg         config
	payloadSize int
	summaries   []summary
	loadBefore  string // 1-minute load average when the run started and ended
	loadAfter   string
}

func runBenchmarks(ctx context.Context, cfg config, progress io.Writer) (*report, error) {
	body, size, err := newBody(cfg.size)
	if err != nil {
		return nil, err
	}
	b, err := startBroker(ctx, cfg.server, cfg.url)
	if err != nil {
		return nil, fmt.Errorf("starting the broker: %w", err)
	}
	defer b.close()
	if err := b.reset(ctx); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, broker: b, body: body, payloadSize: size, log: progress}
	rep := &report{cfg: cfg, payloadSize: size, loadBefore: loadAverage()}
	defer func() { rep.loadAfter = loadAverage() }()
	kinds := systemKinds()
	for _, sc := range scenarios() {
		if len(cfg.scenarios) > 0 && !slices.Contains(cfg.scenarios, sc.name) || len(cfg.scenarios) == 0 && sc.optional {
			continue
		}
		systems := sc.systems
		if len(cfg.systems) > 0 {
			systems = slices.DeleteFunc(slices.Clone(systems), func(s string) bool { return !slices.Contains(cfg.systems, s) })
		}
		results := make(map[string][]result)
		for run := range cfg.runs {
			// Interleave systems and rotate who goes first, so that a
			// noisy neighbour or a warming disk skews all alike.
			for i := range systems {
				name := systems[(i+run)%len(systems)]
				res, err := r.runOne(ctx, sc, kinds[name], run)
				if err != nil {
					return nil, fmt.Errorf("%s / %s / run %d: %w", sc.name, name, run+1, err)
				}
				results[name] = append(results[name], res)
				fmt.Fprintf(progress, "%-18s %-18s run %d/%d: %8.0f msg/s %6.1f allocs/msg %5.1f µs cpu/msg (load %s)%s\n",
					sc.name, name, run+1, cfg.runs, res.rate(), res.allocs, cpuPerMsg(res.clientCPU, res.msgs), loadAverage(), latencyNote(res))
			}
		}
		for _, name := range systems {
			rep.summaries = append(rep.summaries, summarize(sc.name, name, results[name], size))
		}
	}
	return rep, nil
}

func latencyNote(r result) string {
	if !r.hasLatency {
		return ""
	}
	return fmt.Sprintf("  p50 %s p99 %s p99.9 %s", fmtDuration(r.latency[0]), fmtDuration(r.latency[1]), fmtDuration(r.latency[2]))
}

// runOne sets up a fresh system on a fresh stream, measures one run, tears
// it down and deletes every stream.
func (r *runner) runOne(ctx context.Context, sc scenario, kind systemKind, run int) (result, error) {
	r.seq++
	env := runEnv{url: r.broker.url, id: fmt.Sprintf("r%d", r.seq), concurrency: r.cfg.concurrency, publishers: r.cfg.publishers}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	s, err := kind.setup(ctx, env)
	if err != nil {
		return result{}, fmt.Errorf("setup: %w", err)
	}
	w := &window{serverPID: r.broker.pid}
	if r.cfg.profileDir != "" && run == 0 {
		w.profileTo = filepath.Join(r.cfg.profileDir, sc.name+"-"+kind.name)
	}
	res, runErr := sc.run(ctx, r, s, env, w)
	closeErr := s.Close(ctx)
	resetErr := r.broker.reset(ctx)
	if err := errors.Join(runErr, w.err, closeErr, resetErr); err != nil {
		return result{}, err
	}
	w.fill(&res)
	return res, nil
}

// ratio is the comparison of two systems' median msgs/s in one scenario.
type ratio struct {
	scenario, num, den string
}

var ratios = []ratio{
	{"publish-sync", "choreo", "raw"},
	{"publish-async", "choreo", "raw"},
	{"end-to-end", "choreo", "raw"},
	{"end-to-end", "choreo", "watermill"},
	{"publish-async", "choreo", "raw-ce"},
	{"end-to-end", "choreo", "raw-ce"},
	{"publish-async", "raw-ce", "raw"},
	{"publish-batch", "choreo", "raw"},
}

func (rep *report) find(scenario, system string) (summary, bool) {
	for _, s := range rep.summaries {
		if s.scenario == scenario && s.system == system {
			return s, true
		}
	}
	return summary{}, false
}

// write prints the table and then, last, one line per ratio in the form
// other tools parse: "ratio end-to-end choreo/raw: 0.91".
func (rep *report) write(w io.Writer) {
	c := rep.cfg
	fmt.Fprintf(w, "N=%d, payload %d B JSON, concurrency %d, %d run(s) per system (median), latency at %d msg/s for %s; %d cores, load average %s before, %s after\n\n",
		c.n, rep.payloadSize, c.concurrency, c.runs, c.rate, c.duration, runtime.NumCPU(), rep.loadBefore, rep.loadAfter)
	fmt.Fprintln(w, "| scenario | system | msgs/s | runs' range | MB/s | allocs/msg | B/msg | client CPU µs/msg | server CPU µs/msg | p50 | p99 | p99.9 |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range rep.summaries {
		lat := "| - | - | -"
		if s.hasLatency {
			lat = fmt.Sprintf("| %s | %s | %s", fmtDuration(s.latency[0]), fmtDuration(s.latency[1]), fmtDuration(s.latency[2]))
		}
		lo, hi := s.rateRange()
		fmt.Fprintf(w, "| %s | %s | %s | %s–%s | %.2f | %.1f | %s | %s | %s %s |\n",
			s.scenario, s.system, thousands(s.rate), kilo(lo), kilo(hi), s.mbps, s.allocs, thousands(s.bytes), fmtUS(s.clientUS), fmtUS(s.serverUS), lat)
	}
	fmt.Fprintln(w)
	rep.writeSplit(w, "wire format (CloudEvents headers), raw-ce/raw", "raw-ce", "raw")
	rep.writeSplit(w, "SDK on the same wire format, choreo/raw-ce", "choreo", "raw-ce")
	for _, q := range ratios {
		num, ok1 := rep.find(q.scenario, q.num)
		den, ok2 := rep.find(q.scenario, q.den)
		if !ok1 || !ok2 || den.rate == 0 {
			continue
		}
		fmt.Fprintf(w, "ratio %s %s/%s: %.2f\n", q.scenario, q.num, q.den, num.rate/den.rate)
	}
}

// writeSplit prints, for the scenarios with a choreo/raw ratio, what part
// of it the wire format costs and what part the SDK: raw-ce sends choreo's
// headers by hand, so num/den of these two lines multiply to roughly the
// choreo/raw ratio. Skipped when a system did not run.
func (rep *report) writeSplit(w io.Writer, label, num, den string) {
	var parts []string
	for _, q := range ratios {
		if q.num != "choreo" || q.den != "raw" {
			continue
		}
		a, ok1 := rep.find(q.scenario, num)
		b, ok2 := rep.find(q.scenario, den)
		if ok1 && ok2 && b.rate > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", q.scenario, a.rate/b.rate))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "%s: %s\n", label, strings.Join(parts, ", "))
	}
}

// kilo formats a rate in thousands with one decimal: 23456 -> "23.5k".
func kilo(x float64) string { return fmt.Sprintf("%.1fk", x/1000) }

func fmtUS(us float64) string {
	if us < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", us)
}

// thousands formats a non-negative number rounded to an integer with
// thousands separators.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
