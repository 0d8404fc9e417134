package bustest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

// New starts a fresh JetStream server and returns a bus connected to it.
// The bus logs to tb (warnings and above); its source defaults to a name
// derived from the test, so bus options come after it and may override it.
// Both are closed with tb.Cleanup. New fails the test on error.
func New(tb testing.TB, opts ...bus.Option) *bus.Bus {
	tb.Helper()
	srv := NewServer(tb)
	return Connect(tb, srv, opts...)
}

// NewServer starts a fresh JetStream server, shut down with tb.Cleanup.
func NewServer(tb testing.TB) *embedded.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx)
	if err != nil {
		tb.Fatalf("choreo/bustest: starting JetStream server: %v", err)
	}
	tb.Cleanup(srv.Shutdown)
	return srv
}

// Connect returns a bus on srv, closed with tb.Cleanup (registered after the
// server's, so it runs before the server shuts down).
func Connect(tb testing.TB, srv *embedded.Server, opts ...bus.Option) *bus.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The logger is made first so that its cleanup (muting it) runs last.
	all := append([]bus.Option{bus.WithSource(sourceFor(tb)), bus.WithLogger(Logger(tb))}, opts...)
	b, err := bus.Connect(ctx, srv.ClientURL(), all...)
	if err != nil {
		tb.Fatalf("choreo/bustest: connecting bus: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			tb.Logf("bustest: closing bus: %v", err)
		}
	})
	return b
}

// Logger returns a slog.Logger that writes warnings and errors to the
// test's output, so they show next to the failing test. Each line names the
// file and line of choreo's code that logged it (not a line of this
// package). Lines logged after the test ended (by a goroutine that outlived
// it) are dropped instead of panicking.
func Logger(tb testing.TB) *slog.Logger {
	w := &tbWriter{out: tb.Output()}
	tb.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level:     slog.LevelWarn,
		AddSource: true,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if src, ok := a.Value.Any().(*slog.Source); ok && a.Key == slog.SourceKey {
				// package/file.go:line is enough to find it.
				return slog.String(slog.SourceKey, filepath.Base(filepath.Dir(src.File))+"/"+filepath.Base(src.File)+":"+strconv.Itoa(src.Line))
			}
			return a
		},
	}))
}

type tbWriter struct {
	mu   sync.Mutex
	out  io.Writer
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		_, _ = w.out.Write(p)
	}
	return len(p), nil
}

// sourceFor turns a test name into a valid bus source.
func sourceFor(tb testing.TB) string { return topic.GroupName(tb.Name()) }
