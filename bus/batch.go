package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// ErrBatchInterrupted is matched (errors.Is) by the error of a Batch whose
// messages were not all stored: the connection or the server was lost
// mid-batch, or the server refused a message. The error is a *BatchError
// saying how many are stored.
var ErrBatchInterrupted = errors.New("choreo/bus: batch interrupted")

// ErrBatchUnsupported is returned by PublishBatch and SendBatch when the
// server is older than nats-server 2.14, which introduced fast-ingest batch
// publishing; use PublishAsync there.
var ErrBatchUnsupported = errors.New("choreo/bus: batch publishing needs nats-server 2.14 or newer")

// BatchError reports a batch that ended before all of its messages were
// stored. The first Stored messages, in the order they were added, are
// stored (durably, as after a PubAck); the others may or may not be.
// Publish those again with their ids (WithID, the id Add returned): the
// stream's duplicate window drops any that were stored after all.
type BatchError struct {
	Stored int
	Added  int
	Err    error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("choreo/bus: batch interrupted after %d of %d messages were stored: %v", e.Stored, e.Added, e.Err)
}

// Is makes errors.Is(err, ErrBatchInterrupted) true.
func (e *BatchError) Is(target error) bool { return target == ErrBatchInterrupted }

func (e *BatchError) Unwrap() error { return e.Err }

// BatchReceipt is the broker's acknowledgement of a whole batch.
type BatchReceipt struct {
	// Stream is the stream that stored the batch.
	Stream string
	// Count is the number of messages added to the batch. Messages the
	// stream dropped as duplicates (same id within its duplicate window)
	// are counted: they were stored before.
	Count int
	// LastSequence is the stream sequence of the last message the batch
	// stored; 0 when every message was a duplicate.
	LastSequence uint64
}

// BatchOption configures a Batch.
type BatchOption func(*batchConfig)

type batchConfig struct{ window int }

// WithBatchWindow sets how many messages of a batch may await the server's
// acknowledgement before Add waits (default 2000). The server acknowledges
// every 500 messages at most, so smaller windows slow the batch down.
func WithBatchWindow(n int) BatchOption { return func(c *batchConfig) { c.window = n } }

// Batch publishes many messages of one topic through nats-server's
// fast-ingest batch publishing: the server stores each message as it
// arrives and acknowledges only every few hundred, so neither side pays for
// one acknowledgement per message. It is the fastest way to publish a large
// number of messages; PublishAsync remains the way for messages that come
// one at a time.
//
// Commit ends the batch and waits for the server's final acknowledgement;
// once Commit returns without error every added message is stored, with
// the same promise as an acknowledged PublishAsync. A batch is not atomic:
// messages are stored while it runs, and a batch interrupted by a lost
// connection or server keeps what was stored (BatchError says how much).
//
// Each message keeps its own id and Nats-Msg-Id, so the stream's duplicate
// window works as for single publishes: a message already stored is dropped
// (and counted as added). A Batch is safe for concurrent use, but the
// messages of concurrent Adds are stored in the order Add took them.
type Batch[T any] struct {
	b    *Bus
	kind topic.Kind
	name topic.Name
	r    *route
	c    *batchConn

	mu      sync.Mutex
	base    int    // messages stored in earlier batches of this Batch (see restartIfDuplicateHead)
	lastSeq uint64 // the stream sequence those acknowledged last
	added   int
	hooks   []*publishState
	done    bool
	result  error
}

// PublishBatch starts a batch of events of one topic. Add the messages,
// then Commit; a Batch that is not committed holds a subscription until the
// bus closes. It provisions the topic's stream like Publish does and turns
// on the stream's allow_batched setting (raising it, never lowering other
// settings), which needs nats-server 2.14 or newer (ErrBatchUnsupported).
func PublishBatch[T any](ctx context.Context, b *Bus, e topic.Event[T], opts ...BatchOption) (*Batch[T], error) {
	return newBatch[T](ctx, b, topic.KindEvent, e.Name(), opts)
}

// SendBatch starts a batch of commands of one topic; see PublishBatch.
func SendBatch[T any](ctx context.Context, b *Bus, c topic.Command[T], opts ...BatchOption) (*Batch[T], error) {
	return newBatch[T](ctx, b, topic.KindCommand, c.Name(), opts)
}

func newBatch[T any](ctx context.Context, b *Bus, k topic.Kind, n topic.Name, opts []BatchOption) (*Batch[T], error) {
	cfg := batchConfig{window: 2000}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.window < 1 {
		return nil, fmt.Errorf("%w: WithBatchWindow(%d): need at least 1", ErrInvalidOption, cfg.window)
	}
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.leave()
	r, err := b.streams.route(ctx, k, n)
	if err != nil {
		return nil, err
	}
	if err := b.streams.allowBatches(ctx, r.stream); err != nil {
		return nil, err
	}
	c, err := newBatchConn(b.nc, r.subject, cfg.window, asyncAckTimeout)
	if err != nil {
		return nil, err
	}
	return &Batch[T]{b: b, kind: k, name: n, r: r, c: c}, nil
}

// Add publishes one message of the batch and returns its id. It waits only
// when the window of unacknowledged messages is full (and for the server's
// answer to the batch's first message), at most until ctx is done. An
// error ends the batch; it matches ErrBatchInterrupted once messages were
// sent, and says how many are stored.
func (bt *Batch[T]) Add(ctx context.Context, data T, opts ...PublishOption) (string, error) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.done {
		return "", bt.ended()
	}
	if err := bt.b.enter(ctx); err != nil {
		return "", err
	}
	defer bt.b.leave()
	p, err := bt.b.prepare(ctx, bt.kind, bt.name, data, opts, true)
	if err != nil {
		return "", err // an invalid message; the batch goes on
	}
	if err := bt.c.waitFor(ctx, bt.c.roomFor); err != nil {
		bt.failHook(p, err)
		return "", bt.fail(err)
	}
	bt.restartIfDuplicateHead()
	if err := bt.serverEnded(); err != nil {
		bt.failHook(p, err)
		return "", bt.fail(err)
	}
	if err := bt.c.send(p.msg); err != nil {
		bt.failHook(p, err)
		return "", bt.fail(publishError(bt.name, err))
	}
	bt.added++
	if p.hooks != nil {
		bt.hooks = append(bt.hooks, p.hooks)
	}
	if bt.c.sent == 1 {
		// Wait for the server to take the batch: an error (no stream,
		// batching off) or a duplicate first message ends a batch there.
		if err := bt.c.waitFor(ctx, func() bool { return bt.c.started }); err != nil {
			return p.id, bt.fail(err)
		}
	}
	if err := bt.serverEnded(); err != nil {
		return p.id, bt.fail(err)
	}
	return p.id, nil
}

// restartIfDuplicateHead starts a new batch on the wire when the server
// ended the current one because its only message was already stored.
// nats-server 2.15 does that in some clustered cases (a duplicate found
// before the message is proposed); usually it skips the duplicate and the
// batch goes on.
func (bt *Batch[T]) restartIfDuplicateHead() {
	bt.c.mu.Lock()
	dup := bt.c.dupHead
	bt.c.mu.Unlock()
	if dup {
		bt.base++
		bt.c.mu.Lock()
		bt.lastSeq = bt.c.final.Seq
		bt.c.mu.Unlock()
		bt.c.reset()
	}
}

// serverEnded reports an end of the batch the client did not ask for.
func (bt *Batch[T]) serverEnded() error {
	bt.c.mu.Lock()
	defer bt.c.mu.Unlock()
	if bt.c.failure != nil {
		return bt.c.failure
	}
	if !bt.c.ended || bt.c.dupHead || bt.c.committing {
		return nil
	}
	return errBatchEnded
}

// Commit ends the batch and waits for the server to acknowledge all of it,
// at most until ctx is done. Without error, every added message is stored.
// A batch with no messages commits at once. Commit may be called once;
// later calls return its result again.
func (bt *Batch[T]) Commit(ctx context.Context) (BatchReceipt, error) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.done {
		return bt.receipt(), bt.result
	}
	bt.restartIfDuplicateHead()
	if bt.added == 0 || bt.c.sent == 0 { // nothing on the wire, or the last message was a stored duplicate
		bt.finish(nil)
		return bt.receipt(), nil
	}
	if err := bt.b.enter(ctx); err != nil {
		return BatchReceipt{}, err
	}
	defer bt.b.leave()
	if err := bt.c.commit(); err != nil {
		return BatchReceipt{}, bt.fail(publishError(bt.name, err))
	}
	if err := bt.c.waitFor(ctx, func() bool { return bt.c.ended }); err != nil {
		return BatchReceipt{}, bt.fail(err)
	}
	if err := bt.serverEnded(); err != nil {
		return BatchReceipt{}, bt.fail(err)
	}
	bt.c.mu.Lock()
	short := bt.c.final.Count < bt.c.sent && !bt.c.dupHead
	bt.c.mu.Unlock()
	if short {
		return BatchReceipt{}, bt.fail(errBatchEnded)
	}
	bt.finish(nil)
	return bt.receipt(), nil
}

// Len is the number of messages added so far.
func (bt *Batch[T]) Len() int {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.added
}

func (bt *Batch[T]) receipt() BatchReceipt {
	if bt.result != nil {
		return BatchReceipt{}
	}
	bt.c.mu.Lock()
	defer bt.c.mu.Unlock()
	last := bt.c.final.Seq
	if bt.c.sent == 0 {
		last = bt.lastSeq
	}
	return BatchReceipt{Stream: bt.r.stream, Count: bt.added, LastSequence: last}
}

// fail ends the batch with err, as a BatchError counting what is stored.
func (bt *Batch[T]) fail(err error) error {
	bt.c.mu.Lock()
	stored := bt.base + int(bt.c.acked)
	bt.c.mu.Unlock()
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		bt.b.streams.forget(bt.kind, bt.name, bt.r.stream) // the next batch provisions it again
	}
	var be *BatchError
	if !errors.As(err, &be) {
		be = &BatchError{Stored: min(stored, bt.added), Added: bt.added, Err: err}
	}
	bt.finish(be)
	return be
}

// finish closes the batch's subscription and runs the Published hooks.
func (bt *Batch[T]) finish(err error) {
	bt.done, bt.result = true, err
	bt.c.close()
	for i, st := range bt.hooks {
		r := Receipt{ID: st.out.Envelope.ID, Stream: bt.r.stream}
		var herr error
		if be, ok := err.(*BatchError); ok && i >= be.Stored {
			herr = err
		}
		bt.b.hooks.afterPublish(st, r, herr)
	}
	bt.hooks = nil
}

func (bt *Batch[T]) failHook(p prepared, err error) {
	if p.hooks != nil {
		bt.b.hooks.afterPublish(p.hooks, Receipt{ID: p.id}, err)
	}
}

func (bt *Batch[T]) ended() error {
	if bt.result != nil {
		return bt.result
	}
	return fmt.Errorf("choreo/bus: batch of %s already committed; start a new one", bt.name)
}
