package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/embedded"
)

// broker is the one JetStream server of a benchmark run, plus an admin
// connection that deletes every stream between runs (so each run starts on
// a fresh stream and the disk does not fill up).
type broker struct {
	url   string
	admin *nats.Conn
	js    jetstream.JetStream
	stop  func()
	// pid is the server process when it runs as a child, else 0.
	pid int
}

// serverMode says where the embedded server runs.
type serverMode int

const (
	// serverChild runs the embedded server in a child process (this binary
	// with -serve), so that memstats and profiles measure the clients only,
	// as they would be measured in a service talking to a real cluster.
	serverChild serverMode = iota
	// serverInProcess runs it in this process (used by the test).
	serverInProcess
)

func startBroker(ctx context.Context, mode serverMode, externalURL string) (*broker, error) {
	b := &broker{stop: func() {}}
	switch {
	case externalURL != "":
		b.url = externalURL
	case mode == serverInProcess:
		dir, err := os.MkdirTemp("", "choreo-bench-")
		if err != nil {
			return nil, err
		}
		srv, err := embedded.Start(ctx, embedded.WithDir(dir), serverLog())
		if err != nil {
			return nil, err
		}
		b.url = srv.ClientURL()
		b.stop = func() { srv.Shutdown(); _ = os.RemoveAll(dir) }
	default:
		url, pid, stop, err := startChild(ctx)
		if err != nil {
			return nil, err
		}
		b.url, b.pid, b.stop = url, pid, stop
	}
	var err error
	if b.admin, err = nats.Connect(b.url, nats.Name("bench-admin")); err != nil {
		b.stop()
		return nil, fmt.Errorf("connecting to %s: %w", b.url, err)
	}
	if b.js, err = jetstream.New(b.admin); err != nil {
		b.close()
		return nil, err
	}
	// nats-server removes its (empty) streams directory in the background
	// after the last stream is deleted; a stream created meanwhile fails
	// with "error creating store for stream". A stream that is never
	// deleted keeps the directory.
	_, err = b.js.CreateStream(ctx, jetstream.StreamConfig{Name: keepStream, Subjects: []string{"bench-keep"}, Storage: jetstream.FileStorage})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		b.close()
		return nil, fmt.Errorf("creating %s: %w", keepStream, err)
	}
	return b, nil
}

// keepStream is never deleted and never holds a message.
const keepStream = "BENCH_KEEP"

// reset deletes every stream but keepStream (and so every consumer and KV
// bucket).
func (b *broker) reset(ctx context.Context) error {
	names := b.js.StreamNames(ctx)
	var all []string
	for n := range names.Name() {
		all = append(all, n)
	}
	if err := names.Err(); err != nil {
		return err
	}
	for _, n := range all {
		if n == keepStream {
			continue
		}
		if err := b.js.DeleteStream(ctx, n); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("deleting stream %s: %w", n, err)
		}
	}
	return nil
}

// messages counts the messages in every stream.
func (b *broker) messages(ctx context.Context) (uint64, error) {
	var total uint64
	streams := b.js.ListStreams(ctx)
	for info := range streams.Info() {
		total += info.State.Msgs
	}
	return total, streams.Err()
}

func (b *broker) close() {
	if b.admin != nil {
		b.admin.Close()
	}
	b.stop()
}

// startChild runs `<this binary> -serve` and reads the client URL it prints.
// The child stops when its stdin closes: when stop is called, or when this
// process dies.
func startChild(ctx context.Context) (string, int, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(exe, "-serve")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", 0, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("starting the server process: %w", err)
	}
	stop := func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		if !ok || !strings.HasPrefix(line, "nats://") {
			stop()
			return "", 0, nil, fmt.Errorf("the server process did not report its URL (got %q)", line)
		}
		return line, cmd.Process.Pid, stop, nil
	case <-ctx.Done():
		stop()
		return "", 0, nil, ctx.Err()
	}
}

// serverLog sends the server's warnings and errors to stderr when
// BENCH_SERVER_LOG is set, for diagnosing a failed run.
func serverLog() embedded.Option {
	if os.Getenv("BENCH_SERVER_LOG") == "" {
		return embedded.WithLogger(slog.New(slog.DiscardHandler))
	}
	return embedded.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// serve is the child's main: an embedded server with file storage in a
// temporary directory, until stdin closes.
func serve() error {
	dir, err := os.MkdirTemp("", "choreo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(context.Background(), embedded.WithDir(dir), serverLog())
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	fmt.Println(srv.ClientURL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}
