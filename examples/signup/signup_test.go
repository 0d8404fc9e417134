package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/examples/signup/topics"
)

// TestAllInOne runs `go run ./examples/signup` in-process, on its own
// embedded server, and checks the summary and the trace.
func TestAllInOne(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	s, err := run(ctx, config{timeout: 20 * time.Second, logger: bustest.Logger(t)}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)

	valid := map[string]int{"ada@example.com": 1, "grace@example.com": 1, "edsger@example.com": 1, "barbara@example.com": 1}
	assert.Equal(t, 5, s.SignupsSent)
	assert.Equal(t, 4, s.UsersCreated)
	assert.Equal(t, valid, s.EmailsDelivered, "one welcome email per user")
	assert.Equal(t, valid, s.WelcomeEvents, "one v1.email.welcome.sent per user")
	assert.Equal(t, 4, s.SignupsCounted)

	require.Len(t, s.DeadLetters, 1)
	dl := s.DeadLetters[0]
	require.NotNil(t, dl.Envelope)
	assert.Equal(t, topics.TopicUserSignupV1, dl.Envelope.Type)
	assert.Equal(t, "accounts__v1_user_signup", dl.Consumer)
	assert.Equal(t, 1, dl.Deliveries, "a permanent failure is not retried")
	assert.Contains(t, dl.Reason, errInvalidEmail.Error())
	var form topics.UserSignupV1
	require.NoError(t, json.Unmarshal(dl.Envelope.Data, &form))
	assert.Equal(t, invalidAddress, form.Email)

	tr := parseTrace(t, out.String())

	// Follow Grace, whose first welcome email failed, by correlation id:
	// web -> accounts -> email (retry) and metrics, each step caused by
	// the message before it.
	posted := tr.find(t, "web", topics.TopicUserSignupV1, "signup form posted for "+flakyAddress)
	chain := tr.byCorr(posted.corr)
	created := chain.find(t, "accounts", topics.TopicUserSignupV1, "created user")
	assert.Equal(t, posted.id, created.id, "accounts handled the command web sent")
	event := chain.find(t, "accounts", topics.TopicUserSignedupV1, "announces user")
	failed := chain.find(t, "email", topics.TopicUserSignedupV1, "attempt 1 failed")
	welcomed := chain.find(t, "email", topics.TopicUserSignedupV1, "welcome email sent to "+flakyAddress+" (attempt 2)")
	assert.Equal(t, event.id, welcomed.id, "email handled the event accounts published")
	announced := chain.find(t, "email", topics.TopicEmailWelcomeSentV1, "announces the welcome email")
	counted := chain.find(t, "metrics", topics.TopicUserSignedupV1, "sign-ups counted")
	assert.Equal(t, event.id, counted.id, "metrics handled the same event")
	assert.Len(t, chain, 7, "the whole chain of one signup, nothing else")

	// Each step is printed before the messages it causes are sent, so the
	// lines of one chain come in causal order, whatever other signups do.
	for _, order := range [][2]traceLine{
		{posted, created}, {created, event}, {event, failed}, {failed, welcomed},
		{welcomed, announced}, {event, counted},
	} {
		assert.Less(t, order[0].n, order[1].n, "%q before %q", order[0].what, order[1].what)
	}

	// The mistyped address ends in the dead-letter queue, same chain.
	rejected := tr.find(t, "web", topics.TopicUserSignupV1, "signup form posted for "+invalidAddress)
	dead := tr.byCorr(rejected.corr)
	dead.find(t, "accounts", topics.TopicUserSignupV1, "no retry, to the dead-letter queue")
	dead.find(t, "ops", topics.TopicUserSignupV1, "dead letter in accounts__v1_user_signup")
	assert.Equal(t, short(dl.Envelope.CorrelationID), rejected.corr)
}

// traceLine is one parsed line of the console.
type traceLine struct {
	n                              int // position in the output
	service, topic, id, corr, what string
}

type trace []traceLine

// parseTrace splits the console's aligned columns, checking every line but
// the header has them all.
func parseTrace(t *testing.T, out string) trace {
	t.Helper()
	var tr trace
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if i == 0 {
			require.True(t, strings.HasPrefix(l, "SERVICE"), "header first: %q", l)
			continue
		}
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 5, "line %d has too few columns: %q", i, l)
		require.Len(t, f[2], 8, "line %d: short message id: %q", i, l)
		require.Len(t, f[3], 8, "line %d: short correlation id: %q", i, l)
		tr = append(tr, traceLine{n: i, service: f[0], topic: f[1], id: f[2], corr: f[3], what: strings.Join(f[4:], " ")})
	}
	return tr
}

func (tr trace) byCorr(corr string) trace {
	var out trace
	for _, l := range tr {
		if l.corr == corr {
			out = append(out, l)
		}
	}
	return out
}

// find returns the one line of service about topic whose text contains
// what.
func (tr trace) find(t *testing.T, service, topic, what string) traceLine {
	t.Helper()
	var found []traceLine
	for _, l := range tr {
		if l.service == service && l.topic == topic && strings.Contains(l.what, what) {
			found = append(found, l)
		}
	}
	require.Len(t, found, 1, "want exactly one %s line on %s containing %q in %v", service, topic, what, tr)
	return found[0]
}
