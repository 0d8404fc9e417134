package reliability_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/internal/pgtest"
	"github.com/choreo-bus/choreo/outbox"
)

// The outbox scenarios need PostgreSQL: one throwaway cluster serves the
// whole test binary, each scenario gets a database of its own.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// outboxDatabases are the dialects the outbox scenarios run on; open
// returns a new, empty database and how to open it again (a second
// "process").
var outboxDatabases = []struct {
	name string
	open func(t *testing.T) (first *sql.DB, reopen func() *sql.DB)
}{
	{"sqlite", func(t *testing.T) (*sql.DB, func() *sql.DB) {
		dsn := outbox.SQLiteDSN(filepath.Join(t.TempDir(), "service.db"))
		reopen := func() *sql.DB {
			db, err := sql.Open("sqlite", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		return reopen(), reopen
	}},
	{"postgres", func(t *testing.T) (*sql.DB, func() *sql.DB) {
		dsn := pgtest.DSN(t)
		reopen := func() *sql.DB {
			db, err := sql.Open("pgx", dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		return reopen(), reopen
	}},
}

// relayOptions make the relays of the scenarios react fast to faults.
var relayOptions = []outbox.Option{
	outbox.WithBackoff(50*time.Millisecond, time.Second),
	outbox.WithPublishTimeout(3 * time.Second),
}

// startRelay runs o's relay until the returned stop is called (or the
// test ends), checking that it ends cleanly.
func startRelay(t *testing.T, o *outbox.Outbox) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("relay Run returned %v, want nil once its ctx ended", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// orderKey is the ordering key (ce-subject) of order seq among keys.
func orderKey(seq, keys int) string { return fmt.Sprintf("customer-%d", seq%keys) }

// writeOrders writes orders from..from+n-1 through the outbox, txSize per
// transaction; every rollbackEvery-th transaction (0: none) writes an extra
// order with Seq -1 and rolls back.
func writeOrders(ctx context.Context, t *testing.T, db *sql.DB, o *outbox.Outbox, from, n, keys, txSize, rollbackEvery int) {
	t.Helper()
	for i, tx := 0, 0; i < n; tx++ {
		x, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		if rollbackEvery > 0 && tx%rollbackEvery == rollbackEvery-1 {
			_, err := outbox.Publish(ctx, x, o, orderPlaced, order{Seq: -1}, bus.WithSubject(orderKey(0, keys)))
			require.NoError(t, err)
			require.NoError(t, x.Rollback())
			continue
		}
		for j := 0; j < txSize && i < n; j, i = j+1, i+1 {
			seq := from + i
			_, err := outbox.Publish(ctx, x, o, orderPlaced, order{Seq: seq, SentAt: time.Now().UnixNano()}, bus.WithSubject(orderKey(seq, keys)))
			require.NoError(t, err)
		}
		require.NoError(t, x.Commit())
	}
}

// outboxRows counts the rows waiting in the outbox.
func outboxRows(t *testing.T, db *sql.DB) int {
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM choreo_outbox`).Scan(&n))
	return n
}

// streamCount is how many messages stream holds.
func streamCount(t *testing.T, b *bus.Bus, stream string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := b.JetStream().Stream(ctx, stream)
	if err != nil {
		return 0 // not created yet
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return int(info.State.Msgs)
}

// streamAudit reads every message of stream in stream order.
type streamAudit struct {
	total    int
	distinct int
	// outOfOrder names the first key whose orders arrived out of order.
	outOfOrder string
	// rolledBack counts orders of rolled-back transactions (Seq -1).
	rolledBack int
	msgIDs     bool // every Nats-Msg-Id is envelope.MsgID(source, id)
}

func auditStream(t *testing.T, b *bus.Bus, stream string) streamAudit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	want := streamCount(t, b, stream)
	c, err := b.JetStream().OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	a := streamAudit{msgIDs: true}
	seen := map[string]bool{}
	last := map[string]int{}
	for a.total < want {
		batch, err := c.Fetch(min(want-a.total, 500), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			a.total++
			env, err := envelope.Read(m.Headers(), m.Data())
			require.NoError(t, err)
			if m.Headers().Get(jetstream.MsgIDHeader) != envelope.MsgID(env.Source, env.ID) {
				a.msgIDs = false
			}
			if !seen[env.ID] {
				seen[env.ID] = true
				a.distinct++
			}
			var o order
			require.NoError(t, json.Unmarshal(env.Data, &o))
			if o.Seq < 0 {
				a.rolledBack++
				continue
			}
			if prev, ok := last[env.Subject]; ok && o.Seq < prev && a.outOfOrder == "" {
				a.outOfOrder = fmt.Sprintf("%s: order %d after %d", env.Subject, o.Seq, prev)
			}
			last[env.Subject] = max(last[env.Subject], o.Seq)
		}
		require.NoError(t, batch.Error())
	}
	return a
}

// pgTrigger and sqliteTrigger make every DELETE of outbox rows fail while
// the table crash_deletes has a row: the relay "crashes" after the broker
// acknowledged its messages and before it marked them published.
const (
	pgTrigger = `CREATE TABLE crash_deletes (on_ boolean);
CREATE FUNCTION crash_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM crash_deletes) THEN RAISE EXCEPTION 'injected relay crash before marking'; END IF;
	RETURN OLD;
END $$;
CREATE TRIGGER crash_delete BEFORE DELETE ON choreo_outbox FOR EACH ROW EXECUTE FUNCTION crash_delete();
INSERT INTO crash_deletes VALUES (true)`
	sqliteTrigger = `CREATE TABLE crash_deletes (on_ INTEGER);
CREATE TRIGGER crash_delete BEFORE DELETE ON choreo_outbox WHEN EXISTS (SELECT 1 FROM crash_deletes)
BEGIN SELECT RAISE(ABORT, 'injected relay crash before marking'); END;
INSERT INTO crash_deletes VALUES (1)`
)

func injectMarkCrash(t *testing.T, db *sql.DB, dialect string) {
	script := pgTrigger
	if dialect == "sqlite" {
		script = sqliteTrigger
	}
	if dialect == "sqlite" { // one statement per Exec
		for _, s := range splitSQLite(script) {
			_, err := db.Exec(s)
			require.NoError(t, err)
		}
		return
	}
	_, err := db.Exec(script)
	require.NoError(t, err)
}

// splitSQLite splits the SQLite script at the statement ends that are not
// inside the trigger body.
func splitSQLite(script string) []string {
	parts := strings.SplitAfter(script, ";\n")
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.TrimSuffix(p, ";"))
		}
	}
	return out
}
