package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// Publish writes an event into the outbox in tx and returns its id. The
// message is built at once, exactly as bus.Publish builds it (its id, the
// correlation and causation ids from ctx, the options, the bus's Publish
// hooks run with ctx), and stored in tx: it is published by a relay (Run)
// once tx commits, and never if tx rolls back. The bus's Published hooks
// run when the row is written, with a Receipt holding only the id: the
// broker's acknowledgement comes later, perhaps to another process.
//
// Messages with the same ordering key are published in the order they
// were written; the key is the message's ce-subject (bus.WithSubject) or,
// without one, its correlation id. Publish does not contact the broker.
func Publish[T any](ctx context.Context, tx *sql.Tx, o *Outbox, e topic.Event[T], data T, opts ...bus.PublishOption) (string, error) {
	return o.write(ctx, tx, topic.KindEvent, e.Name(), data, opts)
}

// Send writes a command into the outbox in tx and returns its id; see
// Publish.
func Send[T any](ctx context.Context, tx *sql.Tx, o *Outbox, c topic.Command[T], data T, opts ...bus.PublishOption) (string, error) {
	return o.write(ctx, tx, topic.KindCommand, c.Name(), data, opts)
}

func (o *Outbox) write(ctx context.Context, tx *sql.Tx, k topic.Kind, n topic.Name, data any, opts []bus.PublishOption) (string, error) {
	if o == nil || tx == nil {
		return "", errors.New("choreo/outbox: Publish and Send need the outbox (New) and an open transaction (db.BeginTx)")
	}
	p, err := o.bus.Prepare(ctx, k, n, data, opts...)
	if err != nil {
		return "", fmt.Errorf("choreo/outbox: %w", err)
	}
	header, err := encodeHeader(p.Header)
	if err != nil {
		p.Done(bus.Receipt{ID: p.ID}, err)
		return "", fmt.Errorf("choreo/outbox: encoding the headers of %s: %w", n, err)
	}
	key := orderingKey(p)
	_, err = tx.ExecContext(ctx, o.d.q(`INSERT INTO choreo_outbox (part, okey, kind, topic, msg_id, header, data, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		partition(key), key, k.String(), n.String(), p.ID, header, nonNil(p.Data), o.d.now())
	if err != nil {
		err = fmt.Errorf("choreo/outbox: writing %s %s into the outbox: %w", n, p.ID, err)
	}
	p.Done(bus.Receipt{ID: p.ID}, err)
	if err != nil {
		return "", err
	}
	select {
	case o.poke <- struct{}{}:
	default:
	}
	return p.ID, nil
}

// orderingKey is what the relay keeps in order: the subject, else the
// correlation id.
func orderingKey(p *bus.Prepared) string {
	if p.Envelope == nil {
		return p.ID
	}
	if p.Envelope.Subject != "" {
		return p.Envelope.Subject
	}
	if p.Envelope.CorrelationID != "" {
		return p.Envelope.CorrelationID
	}
	return p.ID
}

// partition places a key in one of Partitions partitions (FNV-1a).
func partition(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % Partitions)
}

// now is the created column's value: PostgreSQL's default fills it (a
// timestamptz); SQLite stores Unix microseconds.
func (d dialect) now() any {
	if d.name == postgresName {
		return time.Now()
	}
	return time.Now().UnixMicro()
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
