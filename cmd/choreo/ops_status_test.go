package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus/bustest"
)

// statusOf returns the consumer lines of one 'status -json' run.
func statusOf(t *testing.T, w *signupWorld, args ...string) (streams []statusStreamJSON, consumers map[string]statusConsumerJSON) {
	t.Helper()
	code, out, errOut := w.choreo(append([]string{"status", "-json", "-window", "300ms"}, args...)...)
	require.Equal(t, exitOK, code, errOut)
	consumers = map[string]statusConsumerJSON{}
	for line := range strings.Lines(out) {
		var typ struct{ Type string }
		require.NoError(t, json.Unmarshal([]byte(line), &typ))
		switch typ.Type {
		case "stream":
			streams = append(streams, jsonLines[statusStreamJSON](t, line)...)
		case "consumer":
			c := jsonLines[statusConsumerJSON](t, line)[0]
			consumers[c.Consumer] = c
		default:
			t.Fatalf("unknown line type %q in %s", typ.Type, line)
		}
	}
	return streams, consumers
}

// TestStatusLag stops metrics: its lag rises with every signup, the
// recommendation with it, and once metrics is back the lag drains.
func TestStatusLag(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	signups := func(n int, from int) {
		for i := range n {
			w.signup(fmt.Sprintf("user%d@example.com", from+i))
		}
		waitFor(t, "the welcome emails", func() bool { return w.welcomedCount(fmt.Sprintf("user%d@example.com", from+n-1)) == 1 })
	}
	signups(2, 0)
	waitFor(t, "metrics to count", func() bool { return w.countedTotal() == 2 })
	before := w.consumers()

	streams, cons := statusOf(t, w)
	require.Len(t, streams, 3)
	assert.Equal(t, []string{"CMD_user", "EVT_email", "EVT_user"}, []string{streams[0].Stream, streams[1].Stream, streams[2].Stream})
	assert.Equal(t, uint64(2), streams[2].Messages)
	assert.Equal(t, "event", streams[2].Kind)
	metrics := cons["metrics__v1_user_signedup"]
	assert.Equal(t, "idle", metrics.State)
	assert.Equal(t, uint64(0), metrics.Pending)
	assert.Equal(t, 1, metrics.Instances)
	require.NotNil(t, metrics.Recommended)
	assert.Equal(t, 0, *metrics.Recommended)

	w.stop("metrics")
	signups(5, 10)
	// 5 behind, 0.1 messages per second per instance, 10s to finish: 5.
	_, cons = statusOf(t, w, "-per-instance", "0.1", "-target", "10s")
	metrics = cons["metrics__v1_user_signedup"]
	assert.Equal(t, uint64(5), metrics.Pending)
	assert.Equal(t, "stuck", metrics.State)
	assert.Contains(t, metrics.Note, "no instance pulling")
	assert.Equal(t, 0.0, metrics.ProcessingRate)
	require.NotNil(t, metrics.Recommended)
	assert.Equal(t, 5, *metrics.Recommended)
	assert.Equal(t, 1, *metrics.KEDALagThreshold)
	assert.Equal(t, "flag", metrics.RateSource)
	assert.Equal(t, "idle", cons["email__v1_user_signedup"].State)

	signups(10, 20)
	_, cons = statusOf(t, w, "-per-instance", "0.1", "-target", "10s")
	metrics = cons["metrics__v1_user_signedup"]
	assert.Equal(t, uint64(15), metrics.Pending)
	assert.Equal(t, 15, *metrics.Recommended, "the recommendation scales with the lag")

	// Readable output.
	code, out, errOut := w.choreo("status", "-window", "200ms", "-per-instance", "0.1")
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `STREAM\s+KIND\s+MESSAGES\s+SIZE\s+LAST MESSAGE\s+IN/s`, out)
	assert.Regexp(t, `metrics\s+v1\.user\.signedup\s+15 \(\+0\)\s+0\s+0\s+0\s+\S+ ago\s+0\.0\s+0\.0\s+0\s+15\s+stuck`, out)
	assert.Contains(t, out, "metrics__v1_user_signedup: lag not shrinking and no instance pulling: start one")

	// -watch: metrics comes back and the lag drains; the rate it observes
	// makes its own recommendation.
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"status", "-watch", "-json", "-window", "200ms", "-server", w.srv.ClientURL()}, &stdout, &stderr)
	}()
	metricsLines := func() []statusConsumerJSON {
		var all []statusConsumerJSON
		for line := range strings.Lines(stdout.String()) {
			var c statusConsumerJSON
			if json.Unmarshal([]byte(line), &c) == nil && c.Consumer == "metrics__v1_user_signedup" {
				all = append(all, c)
			}
		}
		return all
	}
	waitFor(t, "status to see the lag", func() bool { return len(metricsLines()) > 0 })
	// 15 messages at 60ms each: longer than a window, so one sees the work.
	w.startMetrics(60 * time.Millisecond)
	waitFor(t, "status to see the lag drained", func() bool {
		lines := metricsLines()
		return lines[len(lines)-1].Pending == 0
	})
	var working []statusConsumerJSON
	for _, c := range metricsLines() {
		if c.ProcessingRate > 0 {
			working = append(working, c)
		}
	}
	require.NotEmpty(t, working, "no window saw metrics work")
	assert.Equal(t, "observed", working[0].RateSource)
	assert.NotEqual(t, "stuck", working[0].State)
	assert.Less(t, working[0].PendingChange, int64(0))
	assert.Equal(t, 1, working[0].Instances)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(bustest.Timeout):
		t.Fatal("status -watch did not stop on cancellation")
	}
	w.noConsumerLeft(before)
}

func TestStatusBadInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "-window", "1ms"}, "-window 1ms: use at least 100ms"},
		{[]string{"status", "-target", "0s"}, "-target 0s"},
		{[]string{"status", "-per-instance", "-1"}, "-per-instance -1"},
		{[]string{"status", "-window", "soon"}, `invalid value "soon" for flag -window`},
	} {
		code, out, errOut := choreoCtx(t, context.Background(), tt.args...)
		assert.Equal(t, exitUsage, code, tt.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tt.want)
	}
}

func TestRecommendation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		backlog          uint64
		arrival, perInst float64
		target           time.Duration
		want             int
		ok               bool
	}{
		{0, 0, 0, time.Second, 0, true},   // nothing to do
		{10, 0, 0, time.Second, 0, false}, // no rate known
		{100, 0, 10, 10 * time.Second, 1, true},
		{100, 0, 1, 10 * time.Second, 10, true},
		{100, 5, 1, 10 * time.Second, 15, true}, // keep up with arrivals too
		{1, 0, 1000, time.Minute, 1, true},      // never fewer than one with work
		{0, 2.5, 1, time.Second, 3, true},
	} {
		n, ok := recommendation(tt.backlog, tt.arrival, tt.perInst, tt.target)
		assert.Equal(t, tt.ok, ok, "%+v", tt)
		assert.Equal(t, tt.want, n, "%+v", tt)
	}
}

func TestNormalizeReason(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`permanent: invalid email address "a"`:                  `permanent: invalid email address "…"`,
		`permanent: invalid email address "b\"c"`:               `permanent: invalid email address "…"`,
		`email address already has an account: ada@example.com`: `email address already has an account: <email>`,
		`user 01a2011c-e713-7a68-8090-feb64109973c not found`:   `user <uuid> not found`,
		`451 temporary failure, try again later`:                `451 temporary failure, try again later`,
		`order 123456 over limit 'gold'`:                        `order <n> over limit '…'`,
	} {
		assert.Equal(t, want, normalizeReason(in), in)
	}
}
