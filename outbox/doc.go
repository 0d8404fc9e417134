// Package outbox keeps a service's database and its messages in agreement
// through crashes: the transactional outbox on the publishing side and the
// database inbox on the consuming side, over database/sql on PostgreSQL
// (pgx's driver, github.com/jackc/pgx/v5/stdlib) or SQLite
// (modernc.org/sqlite, pure Go; open it with SQLiteDSN).
//
// # Transactional outbox
//
// A service that commits to its database and then publishes has a gap: a
// crash between the two loses the event, or, the other way round, announces
// a fact that was never committed. Publish and Send close it by writing the
// message into the table choreo_outbox in the caller's own transaction:
//
//	tx, _ := db.BeginTx(ctx, nil)
//	tx.ExecContext(ctx, `INSERT INTO users ...`)
//	outbox.Publish(ctx, tx, o, UserSignedupV1, UserSignedup{...})
//	tx.Commit() // the user and its event, or neither
//
// The message is built at once, exactly as bus.Publish builds it (id,
// correlation and causation from ctx, options, the bus's Publish hooks),
// through the bus's seam bus.Prepare, and stored in its wire form. The
// relay, Run, publishes committed rows with bus.PublishPrepared, keeping
// the stored id, so the Nats-Msg-Id of each message is envelope.MsgID of its
// source and id: a relay that publishes a row again (it died before
// deleting it) has the copy dropped by the stream inside its duplicate
// window, and by the consumers' inboxes after it.
//
// Order: messages that share an ordering key (their ce-subject, or without
// one their correlation id) are published in the order of their rows, one
// after another, each only once the broker stored the previous one; rows of
// one key written by transactions that the database serialises (they update
// the same row, say) are so published in commit order. Keys are spread over
// Partitions partitions; a relay worker holds one partition at a time.
//
// On PostgreSQL any number of relays may run, in any number of processes:
// workers lock partitions with SELECT ... FOR UPDATE SKIP LOCKED, and a
// trigger on the table notifies them on commit (LISTEN/NOTIFY), so a new row
// is relayed without waiting for a poll. On SQLite run one relay per
// database; it wakes at once for writes of its own process and polls for
// others. While the broker is down the relay keeps the rows and backs off.
//
// # Database inbox
//
// NewInbox returns an idempotency.Store in the same database (table
// choreo_inbox) that also implements idempotency.TxStore: with
// idempotency.Middleware, each handler runs in a transaction that records
// the message as done, reachable with Tx(ctx). The handler's effects on that
// database and the done record commit together, so a crash after the effect
// and before the ack repeats nothing: the redelivered copy finds the key
// done. Use it when the handler's effect is a write to this database; use
// the KV inbox (idempotency.NewKVStore) for effects elsewhere (an email, a
// call to another service), which no database transaction covers.
//
// # Tables
//
// New and NewInbox create their tables if missing (WithoutMigration leaves
// the outbox's to your migrations). On PostgreSQL:
//
//	CREATE TABLE choreo_outbox (
//		seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- write order
//		part    smallint    NOT NULL, -- partition of okey (FNV-1a mod Partitions)
//		okey    text        NOT NULL, -- ordering key: ce-subject, else correlation id
//		kind    text        NOT NULL, -- 'command' or 'event'
//		topic   text        NOT NULL, -- topic name, e.g. v1.user.signedup
//		msg_id  text        NOT NULL, -- CloudEvents id
//		header  bytea       NOT NULL, -- the NATS headers as on the wire: "NATS/1.0", "Key: value" lines
//		data    bytea       NOT NULL, -- the encoded payload
//		created timestamptz NOT NULL DEFAULT clock_timestamp()
//	);
//	CREATE INDEX choreo_outbox_part_seq ON choreo_outbox (part, seq);
//	CREATE TABLE choreo_outbox_lock (part smallint PRIMARY KEY); -- rows 0..Partitions-1
//	-- and a statement trigger choreo_outbox_notify: pg_notify('choreo_outbox', '')
//
//	CREATE TABLE choreo_inbox (
//		scope    bytea   NOT NULL, -- idempotency.Key: consumer
//		source   bytea   NOT NULL, --                  ce-source
//		id       bytea   NOT NULL, --                  ce-id (or WithKey's key)
//		done     boolean NOT NULL, -- false: claimed until until_us; true: done
//		token    bigint  NOT NULL, -- the claim's fencing token
//		until_us bigint  NOT NULL, -- lease or retention end, Unix microseconds
//		PRIMARY KEY (scope, source, id)
//	);
//	CREATE INDEX choreo_inbox_until ON choreo_inbox (until_us);
//
// SQLite has the same columns (INTEGER, TEXT, BLOB), seq as INTEGER PRIMARY
// KEY AUTOINCREMENT and created as Unix microseconds, and neither the lock
// table nor the trigger. Rows leave the outbox once published; expired
// inbox rows are deleted now and then by Claim.
package outbox
