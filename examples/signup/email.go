package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/topic"
)

// email sends transactional email. It reacts to v1.user.signedup with a
// welcome email and announces v1.email.welcome.sent.
type email struct {
	b       *bus.Bus
	console *console
	mailer  *mailer
}

// startEmail makes the service send welcome emails for every
// v1.user.signedup on b.
// inboxOpts are how the inbox bucket is opened: with
// idempotency.WithExistingBucket where the operator provisions it.
func startEmail(ctx context.Context, b *bus.Bus, c *console, m *mailer, inboxOpts ...idempotency.KVOption) (*email, error) {
	// The inbox of welcomed events lives in a JetStream key-value bucket,
	// not in this process: every instance of email shares it and it
	// survives restarts, so neither a second instance nor a redeploy sends a
	// welcome twice. (A memory store suits a service that runs as a single
	// instance and may forget on restart: see metrics.)
	// Its name ("email_inbox") is the one the catalog's "inbox: true"
	// gives the service, so `choreo provision` creates it and `choreo gen
	// permissions` grants email, and only email, its subjects.
	inbox, err := idempotency.NewKVStore(ctx, b.JetStream(), topic.InboxBucket(b.Namespace(), "email"), inboxOpts...)
	if err != nil {
		return nil, fmt.Errorf("email: opening the inbox: %w", err)
	}
	e := &email{b: b, console: c, mailer: m}
	// The group "email" gets every v1.user.signedup once, whatever other
	// groups (metrics) do with it.
	_, err = bus.Subscribe(ctx, b, topics.UserSignedupV1Event, "email", e.welcome,
		// After a failure, wait 200ms, then 2s, then 10s: the short first
		// step keeps the example quick, the later ones let a provider's
		// outage pass. The bus's default (1s, 5s, 30s, 2m) suits most.
		bus.WithBackoff(200*time.Millisecond, 2*time.Second, 10*time.Second),
		// Email providers cap sends per second. After an outage the group
		// may find a backlog; the limit spreads it out instead of running
		// into the cap and burning retries. Messages waiting for their
		// turn stay on the server, so no ack wait runs out meanwhile.
		bus.WithRateLimit(50, 10),
		// Outermost first: the console watches every outcome; the inbox
		// wraps the handler itself.
		bus.Use(c.outcomes("email"), idempotency.Middleware(inbox)))
	if err != nil {
		return nil, fmt.Errorf("email: subscribing to %s: %w", topics.TopicUserSignedupV1, err)
	}
	return e, nil
}

// welcome handles one v1.user.signedup event. Thanks to the inbox it
// succeeds at most once per event; a failure leaves the event to a retry.
func (e *email) welcome(ctx context.Context, m *bus.Message[topics.UserSignedupV1]) error {
	u := m.Data
	// The event id is the provider's idempotency key: should the publish
	// below fail, the retry sends the welcome again and the provider drops
	// it. The inbox cannot cover that case: it only records successes.
	if err := e.mailer.send(ctx, m.Envelope.ID, u.Email, "Welcome, "+u.Name+"!"); err != nil {
		// A plain error: the bus redelivers the event after the back-off.
		return fmt.Errorf("sending the welcome email to %s: %w", u.Email, err)
	}
	e.console.received("email", m.Envelope, "welcome email sent to %s (attempt %d)", u.Email, m.Attempt)

	r, err := bus.Publish(ctx, e.b, topics.EmailWelcomeSentV1Event,
		topics.EmailWelcomeSentV1{UserID: u.UserID, Email: u.Email}, bus.WithSubject(u.UserID))
	if err != nil {
		return fmt.Errorf("announcing the welcome email to %s: %w", u.Email, err)
	}
	e.console.sent("email", topics.TopicEmailWelcomeSentV1, r.ID, m.Envelope, "announces the welcome email")
	return nil
}

// mailer stands in for an email provider's API. Like a real one, it takes
// an idempotency key and sends once per key; and now and then it answers
// "try again later": here on the first attempt for each address in
// tryLater, so that the run shows a retry.
type mailer struct {
	mu        sync.Mutex
	tryLater  map[string]bool // addresses whose next attempt fails
	keys      map[string]bool // idempotency keys already sent
	delivered map[string]int  // emails delivered per address
}

var errTryLater = errors.New("451 temporary failure, try again later")

func newMailer(tryLater ...string) *mailer {
	m := &mailer{tryLater: map[string]bool{}, keys: map[string]bool{}, delivered: map[string]int{}}
	for _, addr := range tryLater {
		m.tryLater[addr] = true
	}
	return m
}

// send delivers one email, unless an email with the same key was sent.
func (m *mailer) send(ctx context.Context, key, to, _ string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tryLater[to] {
		delete(m.tryLater, to)
		return errTryLater
	}
	if !m.keys[key] {
		m.keys[key] = true
		m.delivered[to]++
	}
	return nil
}

// deliveries returns how many emails each address received.
func (m *mailer) deliveries() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.delivered))
	for addr, n := range m.delivered {
		out[addr] = n
	}
	return out
}
