package main

import (
	"context"
	"fmt"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/examples/signup/topics"
)

// signupForms are the forms the web front end receives in this example.
// One address is mistyped: accounts rejects it and it ends in the
// dead-letter queue. Grace's mailbox provider asks for a retry once (see
// flakyAddress).
func signupForms() []topics.UserSignupV1 {
	return []topics.UserSignupV1{
		{Email: "ada@example.com", Name: "Ada Lovelace"},
		{Email: "grace@example.com", Name: "Grace Hopper"},
		{Email: "margaret.example.com", Name: "Margaret Hamilton"},
		{Email: "edsger@example.com", Name: "Edsger Dijkstra"},
		{Email: "barbara@example.com", Name: "Barbara Liskov"},
	}
}

// flakyAddress is the address whose first welcome email fails.
const flakyAddress = "grace@example.com"

// invalidAddress is the mistyped address of signupForms.
const invalidAddress = "margaret.example.com"

// runWeb plays the web front end: for each form posted, it sends the
// command v1.user.signup and answers the browser at once. It does not wait
// for the account to exist: accounts creates it when it gets to the
// command, even if it is down right now. It returns the commands sent.
func runWeb(ctx context.Context, b *bus.Bus, c *console, forms []topics.UserSignupV1) ([]bus.Receipt, error) {
	sent := make([]bus.Receipt, 0, len(forms))
	for _, form := range forms {
		// The request id of the form's HTTP request starts the chain: every
		// message caused by this signup will carry it as correlation id.
		requestID := envelope.NewID()
		// Choosing the message id before sending lets the trace line come
		// first, and a retry of this send would reuse it: the broker stores
		// the command once.
		id := envelope.NewID()
		c.line("web", topics.TopicUserSignupV1, id, requestID, "signup form posted for %s", form.Email)
		r, err := bus.Send(ctx, b, topics.UserSignupV1Command, form,
			bus.WithID(id), bus.WithCorrelationID(requestID))
		if err != nil {
			return sent, fmt.Errorf("web: sending the signup of %s: %w", form.Email, err)
		}
		sent = append(sent, r)
	}
	return sent, nil
}
