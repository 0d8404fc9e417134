package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/examples/signup/topics"
)

// accounts owns user accounts. It handles the command v1.user.signup: it
// validates the form, stores the user and announces v1.user.signedup. It
// knows nothing of email or metrics; they react to its event.
type accounts struct {
	b       *bus.Bus
	console *console

	mu      sync.Mutex
	byEmail map[string]user // an address belongs to one account
}

// user is a stored account. A real service keeps it in its database, in one
// transaction with the ids that make a retried command safe.
type user struct {
	topics.UserSignedupV1
	commandID string // the v1.user.signup that created it
	eventID   string // the v1.user.signedup announcing it
}

var (
	errInvalidEmail = errors.New("invalid email address")
	errEmailTaken   = errors.New("email address already has an account")
)

// startAccounts makes the service handle v1.user.signup on b.
func startAccounts(ctx context.Context, b *bus.Bus, c *console) (*accounts, error) {
	a := &accounts{b: b, console: c, byEmail: map[string]user{}}
	// HandleCommand: every instance of accounts shares one durable consumer,
	// so each signup is handled once, even with many instances running.
	_, err := bus.HandleCommand(ctx, b, topics.UserSignupV1Command, a.signup, bus.Use(c.outcomes("accounts")))
	if err != nil {
		return nil, fmt.Errorf("accounts: handling %s: %w", topics.TopicUserSignupV1, err)
	}
	return a, nil
}

// signup handles one v1.user.signup command.
func (a *accounts) signup(ctx context.Context, m *bus.Message[topics.UserSignupV1]) error {
	addr, err := mail.ParseAddress(m.Data.Email)
	if err != nil || addr.Address != m.Data.Email { // "Ada <ada@x.org>" is no address
		// No retry can fix a malformed address: Permanent parks the command
		// in the dead-letter queue at once, with this reason attached.
		return bus.Permanent(fmt.Errorf("%w %q", errInvalidEmail, m.Data.Email))
	}
	u, created, err := a.create(m.Data, m.Envelope.ID)
	if errors.Is(err, errEmailTaken) {
		return bus.Permanent(err) // a business rule: retrying changes nothing
	}
	if err != nil {
		return err // anything else may pass: retry after the back-off
	}
	if created {
		a.console.received("accounts", m.Envelope, "created user %s for %s", short(u.UserID), u.Email)
	} else {
		a.console.received("accounts", m.Envelope, "user %s exists from this command's earlier delivery", short(u.UserID))
	}

	// The handler's ctx makes the event continue the command's chain: same
	// correlation id, and the command's id as causation id.
	//
	// WithID: the event id was chosen when the user was stored. If this
	// publish fails, the error below makes the broker redeliver the command;
	// create finds the user it already made, and the event goes out again
	// under the same id, so the broker (inside its duplicate window) and
	// email's inbox (after it) each drop the copy.
	a.console.sent("accounts", topics.TopicUserSignedupV1, u.eventID, m.Envelope, "announces user %s", short(u.UserID))
	r, err := bus.Publish(ctx, a.b, topics.UserSignedupV1Event, u.UserSignedupV1,
		bus.WithID(u.eventID), bus.WithSubject(u.UserID))
	if err != nil {
		return fmt.Errorf("announcing user %s: %w", u.UserID, err)
	}
	if r.Duplicate {
		a.console.sent("accounts", topics.TopicUserSignedupV1, r.ID, m.Envelope, "the broker already had this event and dropped the copy")
	}
	return nil
}

// create stores a new user and reports created, or returns the one this
// same command created on an earlier delivery: commands arrive at least
// once.
func (a *accounts) create(form topics.UserSignupV1, commandID string) (u user, created bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if existing, ok := a.byEmail[form.Email]; ok {
		if existing.commandID == commandID {
			return existing, false, nil // a redelivery: publish the same event again
		}
		return user{}, false, fmt.Errorf("%w: %s", errEmailTaken, form.Email)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return user{}, false, fmt.Errorf("making a user id: %w", err)
	}
	u = user{
		UserSignedupV1: topics.UserSignedupV1{
			UserID:     id.String(),
			Email:      form.Email,
			Name:       form.Name,
			SignedUpAt: time.Now().UTC(),
		},
		commandID: commandID,
		eventID:   envelope.NewID(),
	}
	a.byEmail[form.Email] = u
	return u, true, nil
}

// count is the number of accounts, for the summary.
func (a *accounts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byEmail)
}
