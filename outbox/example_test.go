package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/outbox"
	"github.com/choreo-bus/choreo/topic"
)

type UserSignedup struct {
	Email string `json:"email"`
}

var UserSignedupV1 = topic.MustEvent[UserSignedup]("v1.user.signedup")

// exampleSetup starts a JetStream server and opens a SQLite database in a
// temporary directory; cleanup undoes both.
func exampleSetup(ctx context.Context, source string) (*bus.Bus, *sql.DB, func()) {
	srv, err := embedded.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource(source))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "outbox-example-")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(filepath.Join(dir, "service.db")))
	if err != nil {
		log.Fatal(err)
	}
	return b, db, func() {
		_ = db.Close()
		_ = b.Close(ctx)
		srv.Shutdown()
		_ = os.RemoveAll(dir)
	}
}

// An accounts service stores a user and announces it in one transaction:
// the event goes out if and only if the user was stored.
func Example() {
	ctx := context.Background()
	b, db, cleanup := exampleSetup(ctx, "accounts")
	defer cleanup()
	if _, err := db.Exec(`CREATE TABLE users (email TEXT PRIMARY KEY)`); err != nil {
		log.Fatal(err)
	}
	o, err := outbox.New(db, b) // creates the outbox table if missing
	if err != nil {
		log.Fatal(err)
	}
	relay, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- o.Run(relay) }() // publishes what commits

	got := make(chan string)
	sub, err := bus.Subscribe(ctx, b, UserSignedupV1, "welcome", func(_ context.Context, m *bus.Message[UserSignedup]) error {
		got <- m.Data.Email
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Stop()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (email) VALUES ($1)`, "ada@example.com"); err != nil {
		log.Fatal(err)
	}
	if _, err := outbox.Publish(ctx, tx, o, UserSignedupV1, UserSignedup{Email: "ada@example.com"}); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed up:", <-got)
	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output: signed up: ada@example.com
}

// A metrics service counts sign-ups behind the database inbox: the count
// and the event's done record commit in one transaction, so no crash can
// count an event twice.
func ExampleNewInbox() {
	ctx := context.Background()
	b, db, cleanup := exampleSetup(ctx, "metrics")
	defer cleanup()
	if _, err := db.Exec(`CREATE TABLE signups (email TEXT NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	inbox, err := outbox.NewInbox(db)
	if err != nil {
		log.Fatal(err)
	}
	counted := make(chan struct{})
	sub, err := bus.Subscribe(ctx, b, UserSignedupV1, "metrics", func(ctx context.Context, m *bus.Message[UserSignedup]) error {
		// The inbox's transaction: commits with the done record.
		_, err := outbox.Tx(ctx).ExecContext(ctx, `INSERT INTO signups (email) VALUES ($1)`, m.Data.Email)
		if err == nil {
			counted <- struct{}{}
		}
		return err
	}, bus.Use(idempotency.Middleware(inbox)))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Stop()

	if _, err := bus.Publish(ctx, b, UserSignedupV1, UserSignedup{Email: "ada@example.com"}); err != nil {
		log.Fatal(err)
	}
	<-counted
	var n int
	for n == 0 { // the transaction commits just after the handler returns
		if err := db.QueryRow(`SELECT count(*) FROM signups`).Scan(&n); err != nil {
			log.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("sign-ups:", n)
	// Output: sign-ups: 1
}
