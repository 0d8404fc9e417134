package topics_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/topic"
)

// TestGeneratedTopicsMatchTheCatalog checks the generated constants and
// typed topics against the names and kinds in ../catalog.yaml.
func TestGeneratedTopicsMatchTheCatalog(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "v1.user.signup", topics.TopicUserSignupV1)
	assert.Equal(t, "v1.user.signedup", topics.TopicUserSignedupV1)
	assert.Equal(t, "v1.email.welcome.sent", topics.TopicEmailWelcomeSentV1)

	assert.Equal(t, topics.TopicUserSignupV1, topics.UserSignupV1Command.String())
	assert.Equal(t, topic.KindCommand, topics.UserSignupV1Command.Kind())
	assert.Equal(t, topics.TopicUserSignedupV1, topics.UserSignedupV1Event.String())
	assert.Equal(t, topic.KindEvent, topics.UserSignedupV1Event.Kind())
	assert.Equal(t, topics.TopicEmailWelcomeSentV1, topics.EmailWelcomeSentV1Event.String())
	assert.Equal(t, []string{"welcome"}, topics.EmailWelcomeSentV1Event.Name().Qualifiers)

	assert.Equal(t, "cmd.v1.user.signup", topic.Subject("", topic.KindCommand, topics.UserSignupV1Command.Name()))
	assert.Equal(t, "evt.v1.user.signedup", topic.Subject("", topic.KindEvent, topics.UserSignedupV1Event.Name()))
}

// TestGeneratedTopicsOnTheBus runs the first steps of the signup
// choreography through a real JetStream server with the generated types:
// web sends the command, accounts handles it and publishes the event, email
// receives it. The JSON on the wire uses the catalog's field names.
func TestGeneratedTopicsOnTheBus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := bustest.NewServer(t)
	web := bustest.Connect(t, srv, bus.WithSource("web"))
	accounts := bustest.Connect(t, srv, bus.WithSource("accounts"))
	email := bustest.Connect(t, srv, bus.WithSource("email"))

	signedUpAt := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	_, err := bus.HandleCommand(ctx, accounts, topics.UserSignupV1Command,
		func(ctx context.Context, m *bus.Message[topics.UserSignupV1]) error {
			_, err := bus.Publish(ctx, accounts, topics.UserSignedupV1Event, topics.UserSignedupV1{
				UserID:     "u-42",
				Email:      m.Data.Email,
				Name:       m.Data.Name,
				SignedUpAt: signedUpAt,
			})
			return err
		})
	require.NoError(t, err)

	received := make(chan *bus.Message[topics.UserSignedupV1], 1)
	_, err = bus.Subscribe(ctx, email, topics.UserSignedupV1Event, "email",
		func(ctx context.Context, m *bus.Message[topics.UserSignedupV1]) error {
			received <- m
			return nil
		})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	receipt, err := bus.Send(ctx, web, topics.UserSignupV1Command, topics.UserSignupV1{Email: "ada@example.com", Name: "Ada"})
	require.NoError(t, err)

	select {
	case m := <-received:
		assert.Equal(t, topics.UserSignedupV1{UserID: "u-42", Email: "ada@example.com", Name: "Ada", SignedUpAt: signedUpAt}, m.Data)
		assert.Equal(t, topics.TopicUserSignedupV1, m.Envelope.Type)
		assert.Equal(t, "accounts", m.Envelope.Source)
		assert.Equal(t, receipt.ID, m.Envelope.CausationID, "caused by the command")

		var wire map[string]any
		require.NoError(t, json.Unmarshal(m.Envelope.Data, &wire))
		assert.Equal(t, map[string]any{
			"user_id": "u-42", "email": "ada@example.com", "name": "Ada", "signed_up_at": "2025-03-14T15:09:26Z",
		}, wire, "JSON keys are the catalog's field names")
	case <-ctx.Done():
		t.Fatal("the event did not arrive within 30s")
	}
}
