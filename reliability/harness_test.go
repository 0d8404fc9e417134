package reliability_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

// full selects the sizes of RELIABILITY.md instead of the CI sizes:
//
//	go test -race -timeout 60m ./reliability/ -full -v
var full = flag.Bool("full", false, "run the fault-injection scenarios at their full sizes (slow; see RELIABILITY.md)")

// sized picks the CI or the full size of a figure.
func sized[T any](ci, fullSize T) T {
	if *full {
		return fullSize
	}
	return ci
}

// order is the payload of every scenario: its sequence number in the run
// and when the publisher sent it, for latencies.
type order struct {
	Seq    int   `json:"seq"`
	SentAt int64 `json:"sent_at"` // Unix nanoseconds
}

// orderPlaced is the event every scenario publishes; each scenario uses a
// namespace of its own, so streams never meet.
var orderPlaced = topic.MustEvent[order]("v1.order.placed")

// eventStream is the stream orderPlaced lands in under namespace ns.
func eventStream(ns string) string { return topic.Stream(ns, topic.KindEvent, "order") }

// testContext is a context cancelled at the end of the test, bounded by d.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// startCluster starts an n-node cluster shut down with the test.
func startCluster(t *testing.T, n int) *embedded.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := embedded.StartCluster(ctx, n)
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)
	return c
}

// connect returns a bus on url, closed with the test (before the servers
// it was started after). The bus logs warnings to the test log only with
// -v, which keeps the expected reconnect warnings of a fault out of a
// passing CI run.
func connect(t *testing.T, url string, opts ...bus.Option) *bus.Bus {
	t.Helper()
	b := dial(t, url, opts...)
	t.Cleanup(func() { closeBus(t, b) })
	return b
}

// dial returns a bus on url that nobody closes: the instance that will
// "die" in a scenario, since a dead process never calls Close.
func dial(t *testing.T, url string, opts ...bus.Option) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := []bus.Option{bus.WithLogger(bustest.Logger(t))}
	if os.Getenv("CHAOS_DEBUG") != "" {
		all = []bus.Option{bus.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4})))}
	}
	b, err := bus.Connect(ctx, url, append(all, opts...)...)
	require.NoError(t, err)
	return b
}

// closeBus closes b within 30s, logging (not failing on) an error: closing
// a bus whose server is gone is part of some scenarios.
func closeBus(t *testing.T, b *bus.Bus) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Logf("closing bus %s: %v", b.Source(), err)
	}
}

// report logs a scenario's figures on one line, "RELIABILITY
// scenario=<name> key=value ...", keys in the order given, so that
// RELIABILITY.md can be regenerated from the test output.
func report(t *testing.T, scenario string, kv ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("RELIABILITY scenario=")
	b.WriteString(scenario)
	b.WriteString(" size=")
	b.WriteString(sized("ci", "full"))
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], formatValue(kv[i+1]))
	}
	t.Log(b.String())
}

func formatValue(v any) string {
	switch x := v.(type) {
	case time.Duration:
		if x < time.Second {
			return x.Round(100 * time.Microsecond).String()
		}
		return x.Round(time.Millisecond).String()
	case float64:
		return fmt.Sprintf("%.1f", x)
	case string:
		if strings.ContainsAny(x, " \t") {
			return fmt.Sprintf("%q", x)
		}
		return x
	default:
		return fmt.Sprint(v)
	}
}

// percentile returns the p-th percentile (0 <= p <= 100; 0 gives the
// smallest) of ds, or 0 for none. It sorts ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// waitUntil polls cond every 20ms until it holds, or fails the test after
// d with what went wrong, as what describes it.
func waitUntil(t *testing.T, d time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled waits until a subscriber group's consumer has nothing pending
// and nothing awaiting acknowledgement, so no late redelivery can still
// add an effect, and then returns.
func settled(t *testing.T, b *bus.Bus, stream, consumer string, d time.Duration) {
	t.Helper()
	var last string
	waitUntil(t, d, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := b.JetStream().Consumer(ctx, stream, consumer)
		if err != nil {
			last = err.Error()
			return false
		}
		info, err := c.Info(ctx)
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("pending %d, awaiting ack %d, redelivered %d", info.NumPending, info.NumAckPending, info.NumRedelivered)
		return info.NumPending == 0 && info.NumAckPending == 0
	}, func() string { return "consumer " + consumer + " did not settle: " + last })
}

// deadLetterCount counts the dead letters of b's namespace.
func deadLetterCount(t *testing.T, b *bus.Bus) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dls, err := allDeadLetters(ctx, b)
	require.NoError(t, err)
	return len(dls)
}

// allDeadLetters collects every dead letter of b's namespace.
func allDeadLetters(ctx context.Context, b *bus.Bus) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	for dl, err := range b.DeadLetters(ctx, bus.DeadLetterFilter{}) {
		if err != nil {
			return out, err
		}
		out = append(out, dl)
	}
	return out, nil
}
