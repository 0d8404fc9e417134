package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// ErrRelayRunning is returned by Run on SQLite when the outbox's relay is
// already running: SQLite has one relay per database, so that messages
// stay in order.
var ErrRelayRunning = errors.New("choreo/outbox: the relay of this SQLite outbox is already running")

// row is one stored message.
type row struct {
	seq int64
	key string
	msg bus.Prepared
}

// Run relays committed rows to the broker until ctx ends, then returns
// nil; it returns an error only when it cannot go on (the bus was closed,
// or on SQLite the relay already runs).
//
// Each message is published with its stored id, so its Nats-Msg-Id is
// envelope.MsgID of its source and id, and deleted from the table once the
// broker acknowledged it. A relay that dies between the two publishes it
// again when it (or another relay) next runs, and the stream drops the
// copy if it is within its duplicate window (past that, consumers' inboxes
// drop it). Messages of one ordering key are published one after another
// in the order they were written, each only after the previous one was
// acknowledged; messages of different keys are pipelined.
//
// On PostgreSQL any number of relays may run at once, in one process or
// many: each worker locks one partition of the keys at a time (SELECT ...
// FOR UPDATE SKIP LOCKED on choreo_outbox_lock), and a commit that adds rows
// wakes them at once (LISTEN/NOTIFY). On SQLite run one relay per database.
//
// While the broker (or the database) is unreachable the relay keeps the
// rows, logs, and tries again after a delay that doubles up to the
// WithBackoff maximum.
func (o *Outbox) Run(ctx context.Context) error {
	if o.d.name == sqliteName {
		if !o.sqliteRelay.TryLock() {
			return ErrRelayRunning
		}
		defer o.sqliteRelay.Unlock()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wakes := make([]chan struct{}, o.cfg.workers)
	for i := range wakes {
		wakes[i] = make(chan struct{}, 1)
	}
	wake := func() {
		for _, w := range wakes {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}
	var wg sync.WaitGroup
	if o.d.name == postgresName {
		wg.Go(func() { o.listen(ctx, wake) })
	}
	errs := make(chan error, len(wakes))
	for i, w := range wakes {
		wg.Go(func() {
			if err := o.work(ctx, i, w); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when no worker failed
}

// work is one relay worker: rounds of publishing while there are rows,
// waiting for a wake-up or the poll interval while there are none.
func (o *Outbox) work(ctx context.Context, id int, wake <-chan struct{}) error {
	backoff := o.cfg.minBackoff
	poll := time.NewTimer(o.cfg.poll)
	defer poll.Stop()
	for turn := id; ctx.Err() == nil; turn++ {
		n, err := o.round(ctx, turn)
		if err != nil {
			if errors.Is(err, bus.ErrClosed) {
				return fmt.Errorf("choreo/outbox: relay stopped: %w", err)
			}
			if ctx.Err() != nil {
				return nil
			}
			o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: relay round failed; the rows stay and are tried again",
				slog.Duration("retry_in", backoff), slog.Any("error", err))
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, o.cfg.maxBackoff)
			continue
		}
		backoff = o.cfg.minBackoff
		if n > 0 {
			continue
		}
		poll.Reset(o.cfg.poll)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-o.poke:
		case <-poll.C:
		}
	}
	return nil
}

// round publishes one batch and returns how many rows it published.
func (o *Outbox) round(ctx context.Context, turn int) (int, error) {
	if o.d.name == sqliteName {
		return o.roundSQLite(ctx)
	}
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning a relay transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var part int
	err = tx.QueryRowContext(ctx, `SELECT l.part FROM choreo_outbox_lock l
WHERE EXISTS (SELECT 1 FROM choreo_outbox o WHERE o.part = l.part)
ORDER BY (l.part + $1) % $2 LIMIT 1 FOR UPDATE OF l SKIP LOCKED`, turn%Partitions, Partitions).Scan(&part)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // nothing to do, or every partition with rows has its relay
	}
	if err != nil {
		return 0, fmt.Errorf("locking a partition: %w", err)
	}
	rows, err := o.load(ctx, tx, `SELECT seq, okey, kind, topic, msg_id, header, data FROM choreo_outbox WHERE part = $1 ORDER BY seq LIMIT $2`, part, o.cfg.batch)
	if err != nil {
		return 0, err
	}
	done, perr := o.relay(ctx, rows)
	if len(done) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM choreo_outbox WHERE seq = ANY($1)`, done); err != nil {
			return 0, fmt.Errorf("deleting %d published rows (they will be published again, as duplicates the stream drops): %w", len(done), err)
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("committing the deletion of %d published rows (they will be published again, as duplicates the stream drops): %w", len(done), err)
		}
	}
	return len(done), perr
}

// roundSQLite is round for the single SQLite relay: the rows are read
// without a transaction (so that writers are not held up while the broker
// answers) and the published ones deleted in one short transaction.
func (o *Outbox) roundSQLite(ctx context.Context) (int, error) {
	rows, err := o.load(ctx, o.db, `SELECT seq, okey, kind, topic, msg_id, header, data FROM choreo_outbox ORDER BY seq LIMIT $1`, o.cfg.batch)
	if err != nil {
		return 0, err
	}
	done, perr := o.relay(ctx, rows)
	if len(done) > 0 {
		args := make([]any, len(done))
		for i, s := range done {
			args[i] = s
		}
		if _, err := o.db.ExecContext(ctx, o.d.q(`DELETE FROM choreo_outbox WHERE seq IN (`+inList(1, len(done))+`)`), args...); err != nil {
			return 0, fmt.Errorf("deleting %d published rows (they will be published again, as duplicates the stream drops): %w", len(done), err)
		}
	}
	return len(done), perr
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// load reads rows; a row that does not decode fails the round (it stays,
// and the error says which one).
func (o *Outbox) load(ctx context.Context, q querier, query string, args ...any) ([]row, error) {
	rs, err := q.QueryContext(ctx, o.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var kind, name string
		var header []byte
		if err := rs.Scan(&r.seq, &r.key, &kind, &name, &r.msg.ID, &header, &r.msg.Data); err != nil {
			return nil, fmt.Errorf("reading the outbox: %w", err)
		}
		if err := decodeRow(&r, kind, name, header); err != nil {
			return nil, fmt.Errorf("outbox row %d (id %q) cannot be published; fix or delete it: %w", r.seq, r.msg.ID, err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	return out, nil
}

func decodeRow(r *row, kind, name string, header []byte) error {
	switch kind {
	case topic.KindCommand.String():
		r.msg.Kind = topic.KindCommand
	case topic.KindEvent.String():
		r.msg.Kind = topic.KindEvent
	default:
		return fmt.Errorf("kind %q is neither command nor event", kind)
	}
	n, err := topic.Parse(name)
	if err != nil {
		return err
	}
	r.msg.Topic = n
	h, err := decodeHeader(header)
	if err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	r.msg.Header = h
	return nil
}

// relay publishes rows in waves: each wave holds the first unpublished row
// of every key, pipelined, and waits for all their acknowledgements, so a
// key's next message leaves only after its previous one was stored. It
// stops at the first failure and returns the rows published so far.
func (o *Outbox) relay(ctx context.Context, rows []row) ([]int64, error) {
	done := make([]int64, 0, len(rows))
	seen := make(map[string]struct{})
	for len(rows) > 0 {
		clear(seen)
		var wave, rest []row
		for _, r := range rows {
			if _, ok := seen[r.key]; ok {
				rest = append(rest, r)
				continue
			}
			seen[r.key] = struct{}{}
			wave = append(wave, r)
		}
		ok, err := o.publishWave(ctx, wave)
		done = append(done, ok...)
		if err != nil {
			return done, err
		}
		rows = rest
	}
	return done, nil
}

func (o *Outbox) publishWave(ctx context.Context, wave []row) ([]int64, error) {
	wctx, cancel := context.WithTimeout(ctx, o.cfg.publishTimeout)
	defer cancel()
	futures := make([]*bus.Future, 0, len(wave))
	var first error
	for i := range wave {
		f, err := o.bus.PublishPreparedAsync(wctx, &wave[i].msg)
		if err != nil {
			first = fmt.Errorf("publishing %s %s: %w", wave[i].msg.Topic, wave[i].msg.ID, err)
			break
		}
		futures = append(futures, f)
	}
	ok := make([]int64, 0, len(futures))
	for i, f := range futures {
		if _, err := f.Wait(wctx); err != nil {
			if first == nil {
				first = fmt.Errorf("publishing %s %s: %w", wave[i].msg.Topic, wave[i].msg.ID, err)
			}
			continue
		}
		ok = append(ok, wave[i].seq)
	}
	return ok, first
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
