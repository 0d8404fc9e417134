package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe to write from the command's goroutine
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`listening on (nats://\S+)`)

// startDev runs `choreo dev args...` in-process and returns the server URL
// and a function that stops it (as Ctrl+C would) and returns the exit code
// and the full output.
func startDev(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"dev"}, args...), &stdout, &stderr) }()
	stop = func() (int, string) {
		cancel()
		select {
		case code := <-done:
			return code, stdout.String()
		case <-time.After(30 * time.Second):
			t.Fatal("choreo dev did not stop within 30s of cancellation")
			return 0, ""
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stop
		}
		select {
		case code := <-done:
			t.Fatalf("choreo dev exited with %d: %s%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("choreo dev printed no URL within 30s: %s", stdout.String())
	return "", nil
}

// freePort asks the kernel for a port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestDevServesJetStream(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	dir := t.TempDir()
	url, stop := startDev(t, "-port", strconv.Itoa(port), "-dir", dir)
	assert.Equal(t, "nats://127.0.0.1:"+strconv.Itoa(port), url)

	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "DEVTEST", Subjects: []string{"devtest.>"}})
	require.NoError(t, err)
	ack, err := js.Publish(ctx, "devtest.hello", []byte("hi"))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), ack.Sequence)
	nc.Close()

	code, out := stop()
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "storage in "+dir)
	assert.Contains(t, out, "choreo dev: stopped")

	// The same directory keeps the stream across a restart.
	url, stop = startDev(t, "-port", "0", "-dir", dir)
	nc, err = nats.Connect(url)
	require.NoError(t, err)
	js, err = jetstream.New(nc)
	require.NoError(t, err)
	stream, err := js.Stream(ctx, "DEVTEST")
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.State.Msgs)
	nc.Close()
	code, _ = stop()
	assert.Equal(t, exitOK, code)
}

func TestDevPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"dev", "-port", strconv.Itoa(port)}, &stdout, &stderr)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr.String(), "-port 0 picks a free one")
}
