package bus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

type signup struct {
	Email string `json:"email"`
	N     int    `json:"n"`
}

type signedUp struct {
	UserID string `json:"user_id"`
	N      int    `json:"n"`
}

var (
	signupCmd   = topic.MustCommand[signup]("v1.user.signup")
	signedUpEvt = topic.MustEvent[signedUp]("v1.user.signedup")
)

// signedUpEvtFor is v1.user.signedup with another payload type.
func signedUpEvtFor[T any]() topic.Event[T] { return topic.MustEvent[T]("v1.user.signedup") }

// counter records how often each key was handled, safely across handlers.
type counter struct {
	mu   sync.Mutex
	seen map[int]int
	by   map[string]int
	cond chan struct{}
}

func newCounter() *counter {
	return &counter{seen: map[int]int{}, by: map[string]int{}, cond: make(chan struct{}, 1)}
}

func (c *counter) add(n int, who string) {
	c.mu.Lock()
	c.seen[n]++
	c.by[who]++
	c.mu.Unlock()
	select {
	case c.cond <- struct{}{}:
	default:
	}
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, v := range c.seen {
		t += v
	}
	return t
}

// waitDistinct waits until n distinct keys were handled.
func (c *counter) waitDistinct(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for c.distinct() < n {
		select {
		case <-c.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("handled %d distinct of %d within %s", c.distinct(), n, within)
		}
	}
}

// requireExactlyOnce checks every key in [0,n) was handled exactly once.
func (c *counter) requireExactlyOnce(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range n {
		require.Equal(t, 1, c.seen[i], "key %d handled %d times", i, c.seen[i])
	}
	require.Len(t, c.seen, n)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, within, 20*time.Millisecond, append([]any{msg}, args...)...)
}

// rawCloudEvent builds a valid CloudEvent by hand, as a foreign producer
// would, with the given JSON body.
func rawCloudEvent(t *testing.T, subject, body string) *nats.Msg {
	t.Helper()
	m := &nats.Msg{Subject: subject}
	require.NoError(t, envelope.Write(m, &envelope.Envelope{
		ID: envelope.NewID(), Source: "foreign", Type: "v1.user.signedup",
		Time: time.Now(), DataContentType: "application/json", Data: []byte(body),
	}))
	return m
}

// allDeadLetters collects every dead letter of b's namespace.
func allDeadLetters(ctx context.Context, b *bus.Bus) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	for dl, err := range b.DeadLetters(ctx, bus.DeadLetterFilter{}) {
		if err != nil {
			return out, err
		}
		out = append(out, dl)
	}
	return out, nil
}

// provisionDeadLetters creates the dead-letter stream of b's namespace as
// an operator would, for tests that park dead letters by hand (reading
// dead letters never creates it).
func provisionDeadLetters(t *testing.T, b *bus.Bus) {
	t.Helper()
	_, err := b.JetStream().CreateStream(ctxT(t), jetstream.StreamConfig{
		Name:     topic.DeadLetterStream(b.Namespace()),
		Subjects: []string{topic.DeadLetterSubjects(b.Namespace())},
		Storage:  jetstream.FileStorage,
	})
	require.NoError(t, err)
}
