package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/nats-io/nats.go"
)

// A publish and a connection that breaks under it.
//
// nats.go buffers publishes while it reconnects, but only from the moment it
// has noticed that the connection is gone, which its read loop does; on a
// busy machine that goroutine may not run for a while. Until then publishes
// go to the dead socket. nats.go (v1.55.0) batches them in a write buffer
// (32 KB) and, when a publish fills it, flushes it from inside that publish
// (Conn.publish, natsWriter.appendBufs, natsWriter.flush): the write fails
// ("write: broken pipe", "connection reset by peer"), nats.go drops what the
// buffer held, and the publish returns the write error although nats.go is
// about to reconnect and buffer. (A publish that went into the buffer before
// the failed write is dropped silently: its future reports it, or its
// request waits for an answer until ctx ends.) A request waiting for its
// answer when the connection is made to reconnect (Conn.ForceReconnect)
// fails with nats.ErrDisconnected.
//
// Neither error says anything about the message: the bus publishes it
// again, with the same Nats-Msg-Id, so a copy that did reach the stream is
// not stored twice (the receipt then says Duplicate).

// connLost reports whether err is a publish that failed because the
// connection broke under it, rather than because of the message, the bus
// or ctx.
func connLost(err error) bool {
	if errors.Is(err, nats.ErrDisconnected) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// connRetry decides, for one message, whether a publish that failed is made
// again. Its zero value is ready; it costs nothing until a publish fails.
type connRetry struct {
	attempts   int
	reconnects uint64 // nats.go's reconnect count before the latest attempt
}

// again reports whether to publish the message again after err. The first
// failure is retried at once: by then nats.go is usually buffering, or has
// a new connection, and otherwise the message joins the others in the dead
// connection's buffer, whose futures report them lost. A later failure
// means the broken connection is still in place (the message alone fills
// the buffer), so it waits until nats.go has given that connection up,
// within ctx; it returns ctx's error, with err, when ctx ends first.
func (r *connRetry) again(ctx context.Context, nc *nats.Conn, err error) (bool, error) {
	if !connLost(err) {
		return false, nil
	}
	r.attempts++
	if r.attempts > 1 {
		if werr := awaitConnReplaced(ctx, nc, r.reconnects); werr != nil {
			return false, fmt.Errorf("%w while the connection to NATS recovers from: %w", werr, err)
		}
	}
	r.reconnects = nc.Stats().Reconnects
	return true, nil
}

// awaitConnReplaced returns once nats.go has given up the connection it
// used when its reconnect count was since: it is reconnecting (and
// buffering), closed, or has reconnected since. It returns ctx's error when
// ctx ends first.
func awaitConnReplaced(ctx context.Context, nc *nats.Conn, since uint64) error {
	// Listen before looking, so that a change between the two is not missed.
	ch := nc.StatusChanged(nats.RECONNECTING, nats.CONNECTED, nats.CLOSED)
	defer nc.RemoveStatusListener(ch)
	if s := nc.Status(); s == nats.RECONNECTING || s == nats.CLOSED || nc.Stats().Reconnects != since {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
