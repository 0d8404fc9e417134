package outbox_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/choreo-bus/choreo/internal/pgtest"
	"github.com/choreo-bus/choreo/outbox"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// databases are the dialects every test runs on.
var databases = []struct {
	name string
	open func(t *testing.T) *sql.DB
}{
	{"sqlite", openSQLite},
	{"postgres", func(t *testing.T) *sql.DB { return pgtest.DB(t) }},
}

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(filepath.Join(t.TempDir(), "test.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// ctxFor is a context ending with the test, bounded by d.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// runRelay runs o's relay until the test ends and checks it stopped cleanly.
func runRelay(t *testing.T, o *outbox.Outbox) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay Run returned %v, want nil after its ctx ended", err)
		}
	})
}

// pending counts the outbox's rows.
func pending(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM choreo_outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds or 30s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
