package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// The operations tests run the services of the signup example in-process,
// against a real embedded server: the example itself is a main package, so
// these are small equivalents built with the same bus API. accounts
// handles v1.user.signup and dead-letters a malformed address with
// bus.Permanent; email and metrics subscribe to v1.user.signedup; email
// announces v1.email.welcome.sent (and gives up for good on an address
// starting with "bounce"); web sends the signups.

type signupForm struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type signedUp struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

type welcomeSent struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

var (
	signupCmd   = topic.MustCommand[signupForm]("v1.user.signup")
	signedUpEvt = topic.MustEvent[signedUp]("v1.user.signedup")
	welcomeEvt  = topic.MustEvent[welcomeSent]("v1.email.welcome.sent")
)

// signupWorld is a server with the signup services on it.
type signupWorld struct {
	t   *testing.T
	srv *embedded.Server
	web *bus.Bus
	// buses are the services' buses by name, to stop one.
	buses map[string]*bus.Bus

	mu       sync.Mutex
	handled  map[string]int // accounts: deliveries per command id
	welcomed map[string]int // email: welcome emails per address
	counted  int            // metrics
}

// startSignup starts a server and the accounts, email, metrics and web
// services, each on its own connection as separate processes would be.
func startSignup(t *testing.T) *signupWorld {
	t.Helper()
	w := &signupWorld{t: t, srv: bustest.NewServer(t), buses: map[string]*bus.Bus{}, handled: map[string]int{}, welcomed: map[string]int{}}
	ctx := context.Background()
	accounts := w.service("accounts")
	_, err := bus.HandleCommand(ctx, accounts, signupCmd, func(ctx context.Context, m *bus.Message[signupForm]) error {
		w.mu.Lock()
		w.handled[m.Envelope.ID]++
		w.mu.Unlock()
		if a, err := mail.ParseAddress(m.Data.Email); err != nil || a.Address != m.Data.Email {
			return bus.Permanent(fmt.Errorf("invalid email address %q", m.Data.Email))
		}
		_, err := bus.Publish(ctx, accounts, signedUpEvt, signedUp{UserID: "u-" + m.Data.Email, Email: m.Data.Email})
		return err
	})
	require.NoError(t, err)
	email := w.service("email")
	_, err = bus.Subscribe(ctx, email, signedUpEvt, "email", func(ctx context.Context, m *bus.Message[signedUp]) error {
		if strings.HasPrefix(m.Data.Email, "bounce") {
			return bus.Permanent(fmt.Errorf("mailbox %s unavailable", m.Data.Email))
		}
		w.mu.Lock()
		w.welcomed[m.Data.Email]++
		w.mu.Unlock()
		_, err := bus.Publish(ctx, email, welcomeEvt, welcomeSent(m.Data))
		return err
	})
	require.NoError(t, err)
	w.startMetrics(0)
	w.web = w.service("web")
	return w
}

// service connects a bus named after a service.
func (w *signupWorld) service(name string) *bus.Bus {
	b := bustest.Connect(w.t, w.srv, bus.WithSource(name))
	w.buses[name] = b
	return b
}

// stop closes a service's bus, as stopping its process would.
func (w *signupWorld) stop(name string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(w.t, w.buses[name].Close(ctx))
}

// startMetrics starts (or restarts) the metrics service, taking delay per
// message, and returns its subscription.
func (w *signupWorld) startMetrics(delay time.Duration) *bus.Subscription {
	sub, err := bus.Subscribe(context.Background(), w.service("metrics"), signedUpEvt, "metrics", func(context.Context, *bus.Message[signedUp]) error {
		time.Sleep(delay) // a slow service, so a status window sees it work
		w.mu.Lock()
		w.counted++
		w.mu.Unlock()
		return nil
	})
	require.NoError(w.t, err)
	return sub
}

// signup sends one form as web does, with a fresh correlation id, and
// returns the command id and the correlation id.
func (w *signupWorld) signup(email string) (id, correlation string) {
	w.t.Helper()
	id, correlation = envelope.NewID(), envelope.NewID()
	_, err := bus.Send(context.Background(), w.web, signupCmd, signupForm{Email: email, Name: "N"},
		bus.WithID(id), bus.WithCorrelationID(correlation))
	require.NoError(w.t, err)
	return id, correlation
}

func (w *signupWorld) handledCount(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.handled[id]
}

func (w *signupWorld) welcomedCount(addr string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.welcomed[addr]
}

func (w *signupWorld) countedTotal() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counted
}

// choreo runs an operations command against the world's server.
func (w *signupWorld) choreo(args ...string) (code int, stdout, stderr string) {
	w.t.Helper()
	return choreoCtx(w.t, context.Background(), append(args, "-server", w.srv.ClientURL())...)
}

// choreoCtx runs a command line in-process with ctx.
func choreoCtx(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// consumers lists every consumer on the server as "stream/consumer".
func (w *signupWorld) consumers() map[string]bool {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := w.web.JetStream()
	all := map[string]bool{}
	names := js.StreamNames(ctx)
	for s := range names.Name() {
		stream, err := js.Stream(ctx, s)
		require.NoError(w.t, err)
		cons := stream.ListConsumers(ctx)
		for ci := range cons.Info() {
			all[s+"/"+ci.Name] = true
		}
		require.NoError(w.t, cons.Err())
	}
	require.NoError(w.t, names.Err())
	return all
}

// noConsumerLeft fails the test when the server has consumers it did not
// have in before.
func (w *signupWorld) noConsumerLeft(before map[string]bool) {
	w.t.Helper()
	for c := range w.consumers() {
		if !before[c] {
			w.t.Errorf("consumer %s was left behind", c)
		}
	}
}

// waitFor polls cond until it holds, failing after bustest.Timeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bustest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jsonLines decodes -json output, one object per line, into T.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var all []T
	for line := range strings.Lines(out) {
		var v T
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&v), "line %q", line)
		all = append(all, v)
	}
	return all
}

// consumerInfo reads one consumer's state.
func (w *signupWorld) consumerInfo(stream, name string) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := w.web.JetStream().Consumer(ctx, stream, name)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

var errNotYet = errors.New("not yet")
