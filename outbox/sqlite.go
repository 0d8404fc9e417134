package outbox

import "net/url"

// SQLiteDSN returns the modernc.org/sqlite data source name for the
// database file at path with the settings the outbox and the inbox need
// when several connections write: write-ahead logging (readers do not
// block the writer), a busy timeout (a writer waits for another instead of
// failing) and transactions that take the write lock when they begin
// (BEGIN IMMEDIATE, so two transactions never deadlock upgrading their
// locks). Open it with sql.Open("sqlite", outbox.SQLiteDSN(path)).
func SQLiteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}
