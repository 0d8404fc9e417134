package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuickRunHandlesEveryMessage runs every scenario at -quick size on an
// in-process embedded server and checks that each system stored every
// message it published and handled every message once.
func TestQuickRunHandlesEveryMessage(t *testing.T) {
	cfg := defaultConfig()
	applyQuick(&cfg, nil)
	cfg.n = 500
	cfg.duration = 200 * time.Millisecond
	cfg.publishers = 20
	cfg.server = serverInProcess
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var progress bytes.Buffer
	rep, err := runBenchmarks(ctx, cfg, &progress)
	if err != nil {
		t.Fatalf("benchmark run failed: %v\nprogress:\n%s", err, progress.String())
	}

	want := map[string]bool{}
	for _, sc := range scenarios() {
		if sc.optional {
			continue // runs only when named
		}
		for _, sys := range sc.systems {
			want[sc.name+"/"+sys] = true
		}
	}
	for _, s := range rep.summaries {
		key := s.scenario + "/" + s.system
		delete(want, key)
		if len(s.results) != 1 {
			t.Errorf("%s: %d runs, want 1", key, len(s.results))
			continue
		}
		r := s.results[0]
		consuming := strings.HasPrefix(s.scenario, "end-to-end") || s.scenario == "latency"
		switch {
		case consuming && r.handled != int64(r.msgs):
			t.Errorf("%s: handled %d distinct messages of %d published", key, r.handled, r.msgs)
		case !consuming && r.stored != int64(r.msgs):
			t.Errorf("%s: the stream holds %d messages of %d published", key, r.stored, r.msgs)
		}
		if r.dups != 0 {
			t.Logf("%s: %d redeliveries handled again (allowed: at-least-once)", key, r.dups)
		}
		if s.rate <= 0 || s.allocs <= 0 {
			t.Errorf("%s: no measurement (rate %.0f, allocs %.1f)", key, s.rate, s.allocs)
		}
		if s.scenario == "latency" && (!s.hasLatency || s.latency[0] <= 0) {
			t.Errorf("%s: no latency percentiles", key)
		}
	}
	for key := range want {
		t.Errorf("%s: missing from the report", key)
	}

	var out bytes.Buffer
	rep.write(&out)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	ratioLine := regexp.MustCompile(`^ratio [a-z-]+ [a-z-]+/[a-z-]+: [0-9]+\.[0-9]{2}$`)
	tail := lines[len(lines)-len(ratios):]
	for i, q := range ratios {
		prefix := "ratio " + q.scenario + " " + q.num + "/" + q.den + ": "
		if !strings.HasPrefix(tail[i], prefix) || !ratioLine.MatchString(tail[i]) {
			t.Errorf("ratio line %d = %q, want %q followed by a ratio", i, tail[i], prefix)
		}
	}
}

func TestNewBodyMarshalsToAboutTheRequestedSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 50, 100, 1000, 10_000} {
		body, got, err := newBody(size)
		if err != nil {
			t.Fatal(err)
		}
		p := Payload{Seq: 42, SentAt: time.Now().UnixNano(), Body: body}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if size >= 50 && (got < size || got > size+8 || len(data) > size+8) {
			t.Errorf("size %d: payload is %d bytes (marshalled %d)", size, got, len(data))
		}
	}
}

func TestMedianAndThousands(t *testing.T) {
	t.Parallel()
	medians := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range medians {
		if got := median(append([]float64(nil), c.in...)); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	numbers := map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 99999.6: "100,000"}
	for in, want := range numbers {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestTrackerCountsEachMessageOnce(t *testing.T) {
	t.Parallel()
	tr := newTracker(3)
	now := time.Now().UnixNano()
	for _, seq := range []int64{0, 1, 1, 7, -1, 2} {
		tr.handle(&Payload{Seq: seq, SentAt: now})
	}
	if err := tr.wait(time.Second); err != nil {
		t.Fatal(err)
	}
	if got := tr.distinct.Load(); got != 3 {
		t.Errorf("distinct = %d, want 3", got)
	}
	if got := tr.dups.Load(); got != 3 {
		t.Errorf("dups = %d, want 3 (one repeat, two out of range)", got)
	}
}
