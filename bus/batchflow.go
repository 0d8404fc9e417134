package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// This file is the client side of nats-server's fast-ingest batch
// publishing (2.14+). Each message is published with a reply subject that
// names the batch and the message's place in it:
//
//	<inbox>.<batch id>.<flow>.fail.<batch seq>.<op>.$FI
//
// with op 0 for the first message, 1 for the next ones, 3 to commit (an
// empty end-of-batch message that is not stored) and 4 to ping. The server
// stores each message as it arrives and answers on the reply subject only
// every <msgs> messages ({"type":"ack","seq":N,"msgs":M}: the first N are
// stored), on a gap or error ({"type":"gap"} / {"type":"err"}), and once at
// the end with an ordinary PubAck carrying "batch" and "count". Gap mode
// "fail" makes a lost message end the batch: every acknowledged sequence
// then means "this message and all before it are stored".

const (
	batchOpStart  = "0"
	batchOpAppend = "1"
	batchOpCommit = "3" // end of batch, without a message
	batchOpPing   = "4"
	// batchMaxFlow is the longest acknowledgement interval the server
	// uses; the client asks for at most half its window, so that at least
	// two acknowledgements are under way while it sends.
	batchMaxFlow = 500
)

// batchReply is any answer the server sends on a batch's reply subjects:
// a flow acknowledgement, a gap or error report, or the final PubAck.
type batchReply struct {
	Type      string              `json:"type"` // "ack", "gap", "err"; "" for the PubAck
	Seq       uint64              `json:"seq"`  // batch sequence; the stream sequence in the PubAck
	Msgs      uint16              `json:"msgs"`
	LastSeq   uint64              `json:"last_seq"`
	Error     *jetstream.APIError `json:"error"`
	Stream    string              `json:"stream"`
	Batch     string              `json:"batch"`
	Count     uint64              `json:"count"`
	Duplicate bool                `json:"duplicate"`
}

// batchConn is one fast batch on the wire: what was sent, what the server
// acknowledged, and how it ended. Its methods are called with mu held by
// the Batch, except handle, which the subscription calls.
type batchConn struct {
	nc         *nats.Conn
	subject    string
	window     uint64        // at most this many messages unacknowledged
	ackTimeout time.Duration // the longest wait for an acknowledgement

	inbox  string
	sub    *nats.Subscription
	prefix string // "<inbox>.<id>.<flow>.fail."
	notify chan struct{}

	mu         sync.Mutex
	sent       uint64 // batch sequence of the last message written
	acked      uint64 // every message up to this one is stored
	every      uint16 // the server acknowledges every this many messages
	started    bool   // the server answered the first message
	ended      bool   // the final PubAck (or a fatal error) arrived
	final      batchReply
	failure    error // the first error the server reported
	dupHead    bool  // the batch ended because its first message was a duplicate
	committing bool  // the client sent the end of the batch
}

func newBatchConn(nc *nats.Conn, subject string, window int, ackTimeout time.Duration) (*batchConn, error) {
	c := &batchConn{nc: nc, subject: subject, window: uint64(window), ackTimeout: ackTimeout,
		inbox: nc.NewInbox(), notify: make(chan struct{}, 1)}
	sub, err := nc.Subscribe(c.inbox+".>", c.handle)
	if err != nil {
		return nil, fmt.Errorf("choreo/bus: batch: subscribing to its acknowledgements: %w", err)
	}
	c.sub = sub
	c.reset()
	return c, nil
}

// reset starts a new batch id on the same subscription.
func (c *batchConn) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	flow := max(1, min(batchMaxFlow, c.window/2))
	c.prefix = c.inbox + "." + nuid.Next() + "." + strconv.FormatUint(flow, 10) + ".fail."
	c.sent, c.acked, c.every = 0, 0, 0
	c.started, c.ended, c.dupHead, c.committing = false, false, false, false
	c.final, c.failure = batchReply{}, nil
}

func (c *batchConn) close() { _ = c.sub.Unsubscribe() }

// handle records one answer from the server.
func (c *batchConn) handle(m *nats.Msg) {
	var r batchReply
	noStream := len(m.Data) == 0 && m.Header.Get("Status") == "503"
	if !noStream && json.Unmarshal(m.Data, &r) != nil {
		return // not an answer of this protocol; the timeout covers a lost one
	}
	c.mu.Lock()
	if !strings.HasPrefix(m.Subject, c.prefix) {
		c.mu.Unlock()
		return // an answer about an earlier batch on this inbox
	}
	switch {
	case noStream:
		// NATS answers "no responders" when nothing listens on the subject:
		// the stream is gone.
		c.ended, c.started = true, true
		if c.failure == nil {
			c.failure = fmt.Errorf("no stream listens on %s (deleted?): %w", c.subject, jetstream.ErrNoStreamResponse)
		}
	default:
		c.handleReply(r)
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// handleReply records one answer of the batch protocol. mu is held.
func (c *batchConn) handleReply(r batchReply) {
	switch r.Type {
	case "ack":
		c.started = true
		c.acked = max(c.acked, r.Seq)
		if r.Msgs > 0 {
			c.every = r.Msgs
		}
	case "gap":
		if c.failure == nil {
			c.failure = fmt.Errorf("the server missed messages %d to %d of the batch", r.LastSeq, r.Seq-1)
		}
	case "err":
		if c.failure == nil && r.Error != nil {
			c.failure = fmt.Errorf("message %d of the batch: %w", r.Seq, r.Error)
		}
	default: // the PubAck that ends the batch, or an error instead of one
		c.started, c.ended, c.final = true, true, r
		switch {
		case r.Error != nil:
			if c.failure == nil {
				c.failure = r.Error
			}
		case r.Duplicate && c.sent == 1:
			// The first message was already stored: the server ends a
			// batch there, so the caller starts a new one for the rest.
			c.dupHead = true
			c.acked = 1
		default:
			c.acked = max(c.acked, r.Count)
		}
	}
}

// send writes one message of the batch. mu is not held.
func (c *batchConn) send(m *nats.Msg) error {
	c.mu.Lock()
	c.sent++
	op := batchOpAppend
	if c.sent == 1 {
		op = batchOpStart
	}
	m.Reply = c.prefix + strconv.FormatUint(c.sent, 10) + "." + op + ".$FI"
	c.mu.Unlock()
	return c.nc.PublishMsg(m)
}

// commit writes the end-of-batch marker.
func (c *batchConn) commit() error {
	c.mu.Lock()
	c.committing = true
	reply := c.prefix + strconv.FormatUint(c.sent+1, 10) + "." + batchOpCommit + ".$FI"
	c.mu.Unlock()
	return c.nc.PublishRequest(c.subject, reply, nil)
}

func (c *batchConn) ping() error {
	c.mu.Lock()
	reply := c.prefix + strconv.FormatUint(c.sent, 10) + "." + batchOpPing + ".$FI"
	c.mu.Unlock()
	return c.nc.PublishRequest(c.subject, reply, nil)
}

// waitFor waits until ready (called with mu held) holds or the batch ended,
// pinging the server when acknowledgements stop coming (one may be lost;
// the server answers a ping with the latest), at most ackTimeout or until
// ctx is done.
func (c *batchConn) waitFor(ctx context.Context, ready func() bool) error {
	check := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return ready() || c.ended
	}
	if check() {
		return nil
	}
	deadline := time.NewTimer(c.ackTimeout)
	defer deadline.Stop()
	pingEvery := max(c.ackTimeout/5, 10*time.Millisecond)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.notify:
			if check() {
				return nil
			}
		case <-ping.C:
			if c.startedLocked() {
				_ = c.ping() // best effort; the deadline decides
			}
		case <-deadline.C:
			return fmt.Errorf("no acknowledgement from the server within %s", c.ackTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *batchConn) startedLocked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// roomFor reports whether another message fits in the window. mu is held.
func (c *batchConn) roomFor() bool {
	if c.sent == 0 {
		return true
	}
	return c.started && c.sent-c.acked < c.window
}

// errBatchEnded is the cause of a BatchError when the server ended the
// batch without saying why (a gap it reported as a count short of what was
// sent).
var errBatchEnded = errors.New("the server ended the batch early")
