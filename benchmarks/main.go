package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg        = defaultConfig()
		quick      = flag.Bool("quick", false, "small N, one run, a short latency phase: well under a minute (what CI runs)")
		cpuProfile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		memProfile = flag.String("memprofile", "", "write an allocation profile of the whole run to this file")
		scenarios  = flag.String("scenarios", "", "comma-separated scenarios to run (default: all)")
		systems    = flag.String("systems", "", "comma-separated systems to run (default: each scenario's)")
		inProcess  = flag.Bool("inprocess", false, "run the embedded server in this process (memstats and profiles then include it)")
		serveMode  = flag.Bool("serve", false, "internal: be the embedded server process")
	)
	flag.IntVar(&cfg.n, "n", cfg.n, "messages per run")
	flag.IntVar(&cfg.size, "size", cfg.size, "approximate payload size in bytes (a JSON struct)")
	flag.IntVar(&cfg.concurrency, "concurrency", cfg.concurrency, "handlers running at once, for every system")
	flag.IntVar(&cfg.rate, "rate", cfg.rate, "publish rate of the latency scenario, msgs/s")
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "length of the latency scenario")
	flag.IntVar(&cfg.runs, "runs", cfg.runs, "runs per system and scenario, interleaved; the median is reported")
	flag.IntVar(&cfg.publishers, "publishers", cfg.publishers, "goroutines pipelining Watermill's blocking Publish in async scenarios")
	flag.IntVar(&cfg.batch, "batch", cfg.batch, "messages per batch in publish-batch (choreo's PublishBatch; raw publishes them with PublishAsync)")
	flag.StringVar(&cfg.profileDir, "profile", "", "write CPU and allocation profiles of the first run of every scenario and system to this directory")
	flag.StringVar(&cfg.url, "url", "", "use this NATS server instead of starting an embedded one")
	flag.Parse()

	if *serveMode {
		return serve()
	}
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		applyQuick(&cfg, set)
	}
	if *inProcess {
		cfg.server = serverInProcess
	}
	cfg.scenarios = splitList(*scenarios)
	cfg.systems = splitList(*systems)
	if err := cfg.validate(); err != nil {
		return err
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := runBenchmarks(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	if *memProfile != "" {
		if err := writeAllocs(*memProfile); err != nil {
			return err
		}
	}
	rep.write(os.Stdout)
	return nil
}

func defaultConfig() config {
	return config{
		n:           100_000,
		size:        100,
		concurrency: 16,
		rate:        5000,
		duration:    10 * time.Second,
		runs:        3,
		publishers:  200,
		batch:       10_000,
	}
}

// applyQuick shrinks the run to CI size, keeping flags set explicitly.
func applyQuick(cfg *config, set map[string]bool) {
	if !set["n"] {
		cfg.n = 2000
	}
	if !set["runs"] {
		cfg.runs = 1
	}
	if !set["duration"] {
		cfg.duration = 500 * time.Millisecond
	}
}

func (c config) validate() error {
	switch {
	case c.n < 1:
		return fmt.Errorf("-n %d: need at least one message", c.n)
	case c.size < 1:
		return fmt.Errorf("-size %d: need at least one byte", c.size)
	case c.concurrency < 1:
		return fmt.Errorf("-concurrency %d: need at least 1", c.concurrency)
	case c.rate < 1 || c.rate > 1_000_000:
		return fmt.Errorf("-rate %d: use 1 to 1000000 msgs/s", c.rate)
	case c.duration <= 0:
		return fmt.Errorf("-duration %s: must be positive", c.duration)
	case c.runs < 1:
		return fmt.Errorf("-runs %d: need at least 1", c.runs)
	case c.publishers < 1:
		return fmt.Errorf("-publishers %d: need at least 1", c.publishers)
	case c.batch < 1:
		return fmt.Errorf("-batch %d: need at least 1", c.batch)
	}
	known := map[string]bool{}
	for _, sc := range scenarios() {
		known[sc.name] = true
	}
	for _, s := range c.scenarios {
		if !known[s] {
			return fmt.Errorf("-scenarios: unknown scenario %q", s)
		}
	}
	kinds := systemKinds()
	for _, s := range c.systems {
		if _, ok := kinds[s]; !ok {
			return fmt.Errorf("-systems: unknown system %q", s)
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
