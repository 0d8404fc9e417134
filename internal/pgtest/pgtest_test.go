package pgtest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/choreo-bus/choreo/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Each test gets a database of its own on one shared PostgreSQL 15 (or
// newer) server.
func TestDatabasesAreSeparate(t *testing.T) {
	a, b := pgtest.DB(t), pgtest.DB(t)
	if _, err := a.Exec(`CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(`SELECT 1 FROM only_in_a`); err == nil {
		t.Fatal("a table of one test database is visible in another")
	}
	var version string
	if err := a.QueryRow(`SHOW server_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if major, _, _ := strings.Cut(version, "."); len(major) < 2 || major < "15" {
		t.Errorf("server version %q, want 15 or newer", version)
	}
	if pgtest.Shared(t).Port() == 0 {
		t.Error("the cluster has no port")
	}
}
