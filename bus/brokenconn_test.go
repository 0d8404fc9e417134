package bus_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

// upload is a payload larger than nats.go's 32 KB write buffer, so that each
// publish of it is written to the socket by the publish call itself.
type upload struct {
	Blob string `json:"blob"`
}

var uploaded = topic.MustEvent[upload]("v1.file.uploaded")

func bigUpload() upload { return upload{Blob: strings.Repeat("x", 40<<10)} }

// stallingDialer dials real TCP connections to the server and can break the
// latest one the way a server that goes away looks on a busy machine: the
// socket is dead, so writes fail with the kernel's own "broken pipe", but
// the client's read loop, which would notice, has not run yet. Everything
// else is the real thing: the server, nats.go, its reconnect.
type stallingDialer struct {
	mu   sync.Mutex
	last *stallingConn
}

func (d *stallingDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	sc := &stallingConn{Conn: c, release: make(chan struct{})}
	d.mu.Lock()
	d.last = sc
	d.mu.Unlock()
	return sc, nil
}

func (d *stallingDialer) latest() *stallingConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

type stallingConn struct {
	net.Conn
	broken       atomic.Bool
	failedWrites atomic.Int64
	release      chan struct{}
	releaseOnce  sync.Once
}

// breakWrites shuts the socket down for writing (the server then closes
// its side) and holds back what the client's read loop reads, until
// unstall.
func (c *stallingConn) breakWrites(t *testing.T) {
	t.Helper()
	c.broken.Store(true)
	require.NoError(t, c.Conn.(*net.TCPConn).CloseWrite())
}

// unstall lets the read loop see the closed connection.
func (c *stallingConn) unstall() { c.releaseOnce.Do(func() { close(c.release) }) }

func (c *stallingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.broken.Load() {
		<-c.release
	}
	return n, err
}

func (c *stallingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && c.broken.Load() {
		c.failedWrites.Add(1)
	}
	return n, err
}

func (c *stallingConn) Close() error {
	c.unstall()
	return c.Conn.Close()
}

// brokenConnBus returns a bus whose connections a stallingDialer makes, with
// uploaded's stream provisioned, and the dialer.
func brokenConnBus(t *testing.T) (*bus.Bus, *stallingDialer) {
	t.Helper()
	d := &stallingDialer{}
	b := bustest.Connect(t, bustest.NewServer(t), bus.WithNATSOptions(nats.SetCustomDialer(d)))
	_, err := bus.Publish(ctxT(t), b, uploaded, upload{Blob: "first"})
	require.NoError(t, err)
	return b, d
}

// awaitBrokenWrites waits until the broken connection failed two writes,
// the publish's first attempt and the bus's immediate retry (the bus then
// waits for nats.go to give the connection up, which unstall allows), or
// until the publish returned.
func awaitBrokenWrites(t *testing.T, c *stallingConn, returned func() bool) {
	t.Helper()
	eventually(t, 30*time.Second, func() bool { return c.failedWrites.Load() >= 2 || returned() },
		"the publish neither returned nor wrote to the broken connection twice")
}

func TestPublishAsyncOnABrokenConnectionIsBufferedNotAnError(t *testing.T) {
	t.Parallel()
	b, d := brokenConnBus(t)
	ctx := ctxT(t)
	conn := d.latest()
	conn.breakWrites(t)

	type result struct {
		f   *bus.Future
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := bus.PublishAsync(ctx, b, uploaded, bigUpload())
		done <- result{f, err}
	}()
	awaitBrokenWrites(t, conn, func() bool { return len(done) > 0 })
	conn.unstall()
	r := <-done
	require.NoError(t, r.err, "PublishAsync must not fail because the connection broke under its write")

	// The future resolves on its own. It may report the message lost:
	// nats.go fails the futures pending when it notices a disconnect, and
	// it may get to this one after the bus published it again. The stream
	// is the proof that the message waited in the reconnect buffer: sent
	// again with its id, it is a duplicate.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, _ = r.f.Wait(wctx)
	require.NoError(t, wctx.Err(), "the future did not resolve")
	again, err := bus.Publish(ctx, b, uploaded, bigUpload(), bus.WithID(r.f.ID()))
	require.NoError(t, err)
	require.True(t, again.Duplicate, "the message was not stored once the client had reconnected")
}

func TestPublishOnABrokenConnectionIsStoredNotAnError(t *testing.T) {
	t.Parallel()
	b, d := brokenConnBus(t)
	ctx := ctxT(t)
	conn := d.latest()
	conn.breakWrites(t)

	type result struct {
		r   bus.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := bus.Publish(ctx, b, uploaded, bigUpload())
		done <- result{r, err}
	}()
	awaitBrokenWrites(t, conn, func() bool { return len(done) > 0 })
	conn.unstall()
	r := <-done
	require.NoError(t, r.err, "Publish must not fail because the connection broke under its write")
	require.False(t, r.r.Duplicate)
	require.NotZero(t, r.r.Sequence)
	require.NotSame(t, conn, d.latest(), "the client did not reconnect")
}

func TestPublishStillFailsWhenCtxEndsWhileTheConnectionIsBroken(t *testing.T) {
	t.Parallel()
	b, d := brokenConnBus(t)
	ctx := ctxT(t)
	conn := d.latest()
	conn.breakWrites(t)
	defer conn.unstall()

	pctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := bus.PublishAsync(pctx, b, uploaded, bigUpload())
		done <- err
	}()
	awaitBrokenWrites(t, conn, func() bool { return len(done) > 0 })
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "broken pipe", "the error says what the connection did")
}
