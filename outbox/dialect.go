package outbox

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

const (
	postgresName = "postgres"
	sqliteName   = "sqlite"
	// notifyChannel is the PostgreSQL channel a commit of outbox rows
	// notifies (through a trigger), waking every listening relay.
	notifyChannel = "choreo_outbox"
)

// dialect is what differs between the databases: the schema and the
// placeholders.
type dialect struct {
	name string
}

var (
	postgres      = dialect{name: postgresName}
	sqliteDialect = dialect{name: sqliteName}
)

var placeholder = regexp.MustCompile(`\$(\d+)`)

// q turns a query written with PostgreSQL's $n placeholders into the
// dialect's (SQLite: ?n).
func (d dialect) q(query string) string {
	if d.name == postgresName {
		return query
	}
	return placeholder.ReplaceAllString(query, "?$1")
}

// outboxSchema creates the outbox tables if missing.
func (d dialect) outboxSchema() []string {
	if d.name == sqliteName {
		return []string{`CREATE TABLE IF NOT EXISTS choreo_outbox (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	part    INTEGER NOT NULL,
	okey    TEXT    NOT NULL,
	kind    TEXT    NOT NULL,
	topic   TEXT    NOT NULL,
	msg_id  TEXT    NOT NULL,
	header  BLOB    NOT NULL,
	data    BLOB    NOT NULL,
	created INTEGER NOT NULL
)`}
	}
	values := make([]string, Partitions)
	for i := range values {
		values[i] = "(" + strconv.Itoa(i) + ")"
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS choreo_outbox (
	seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	part    smallint    NOT NULL,
	okey    text        NOT NULL,
	kind    text        NOT NULL,
	topic   text        NOT NULL,
	msg_id  text        NOT NULL,
	header  bytea       NOT NULL,
	data    bytea       NOT NULL,
	created timestamptz NOT NULL DEFAULT clock_timestamp()
)`,
		`CREATE INDEX IF NOT EXISTS choreo_outbox_part_seq ON choreo_outbox (part, seq)`,
		`CREATE TABLE IF NOT EXISTS choreo_outbox_lock (part smallint PRIMARY KEY)`,
		`INSERT INTO choreo_outbox_lock (part) VALUES ` + strings.Join(values, ", ") + ` ON CONFLICT DO NOTHING`,
		`CREATE OR REPLACE FUNCTION choreo_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('` + notifyChannel + `', '');
	RETURN NULL;
END $$`,
		`CREATE OR REPLACE TRIGGER choreo_outbox_notify AFTER INSERT ON choreo_outbox
	FOR EACH STATEMENT EXECUTE FUNCTION choreo_outbox_notify()`,
	}
}

// inboxSchema creates the inbox table if missing. Keys are stored as bytes:
// they are opaque and may hold any byte, which PostgreSQL's text cannot.
func (d dialect) inboxSchema() []string {
	if d.name == sqliteName {
		return []string{`CREATE TABLE IF NOT EXISTS choreo_inbox (
	scope    BLOB    NOT NULL,
	source   BLOB    NOT NULL,
	id       BLOB    NOT NULL,
	done     INTEGER NOT NULL,
	token    INTEGER NOT NULL,
	until_us INTEGER NOT NULL,
	PRIMARY KEY (scope, source, id)
)`, `CREATE INDEX IF NOT EXISTS choreo_inbox_until ON choreo_inbox (until_us)`}
	}
	return []string{`CREATE TABLE IF NOT EXISTS choreo_inbox (
	scope    bytea   NOT NULL,
	source   bytea   NOT NULL,
	id       bytea   NOT NULL,
	done     boolean NOT NULL,
	token    bigint  NOT NULL,
	until_us bigint  NOT NULL,
	PRIMARY KEY (scope, source, id)
)`, `CREATE INDEX IF NOT EXISTS choreo_inbox_until ON choreo_inbox (until_us)`}
}

// inList is "$from, $from+1, ..." for n values.
func inList(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}
