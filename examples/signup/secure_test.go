package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/catalog/permissions"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/idempotency"
	"github.com/choreo-bus/choreo/topic"
)

// The signup choreography on a server running the configuration that
// `choreo gen permissions` derives from catalog.yaml: every service its own
// user, allowed its own topics, consumers, dead letters and inbox only,
// after the operator provisioned everything, with the services running
// WithoutProvisioning.

// securedServer is a secured embedded server of catalog.yaml's
// permissions, its users' passwords, and the violations each user's
// connections reported.
type securedServer struct {
	confPath  string
	passwords map[string]string
	mu        sync.Mutex
	denied    map[string][]string // user -> permission violations
}

// newSecuredServer writes the generated configuration and sets the
// password variables it names.
func newSecuredServer(t *testing.T) *securedServer {
	cat, err := catalog.Load("catalog.yaml")
	require.NoError(t, err)
	set, err := permissions.Derive(cat, "", "")
	require.NoError(t, err)
	s := &securedServer{passwords: map[string]string{}, denied: map[string][]string{}}
	for _, u := range append(set.Users, permissions.User{Name: permissions.OperatorUser, PasswordVar: permissions.PasswordVar(permissions.OperatorUser)}) {
		pw := "pw-" + u.Name + "-" + fmt.Sprint(time.Now().UnixNano())
		t.Setenv(u.PasswordVar, pw)
		s.passwords[u.Name] = pw
	}
	s.confPath = filepath.Join(t.TempDir(), "permissions.conf")
	conf := permissions.NATSConf(set, true)
	require.NoError(t, os.WriteFile(s.confPath, conf, 0o600))
	return s
}

// options connect as user, recording every permission violation.
func (s *securedServer) options(user string) []nats.Option {
	opts := []nats.Option{
		nats.UserInfo(user, s.passwords[user]),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				s.mu.Lock()
				s.denied[user] = append(s.denied[user], err.Error())
				s.mu.Unlock()
			}
		}),
	}
	if user != permissions.OperatorUser {
		opts = append(opts, nats.CustomInboxPrefix(topic.InboxPrefix("", user)))
	}
	return opts
}

// violations returns what user was denied so far.
func (s *securedServer) violations(user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.denied[user]...)
}

// provision does what `choreo provision -catalog catalog.yaml` does, as the
// operator.
func (s *securedServer) provision(ctx context.Context, url string, out *bytes.Buffer) error {
	cat, err := catalog.Load("catalog.yaml")
	if err != nil {
		return err
	}
	plan, err := permissions.PlanOf(cat, "")
	if err != nil {
		return err
	}
	b, err := bus.Connect(ctx, url, bus.WithSource("choreo-cli"), bus.WithNATSOptions(s.options(permissions.OperatorUser)...))
	if err != nil {
		return err
	}
	defer b.Close(ctx)
	return permissions.Provision(ctx, b, plan, false, func(line string) { fmt.Fprintln(out, line) })
}

// dial connects a catalog service as its own user without provisioning
// rights; "ops", the example's observer, is the operator's dashboard.
func (s *securedServer) dial(t *testing.T) func(ctx context.Context, url, service string, extra ...bus.Option) (*bus.Bus, error) {
	return func(ctx context.Context, url, service string, extra ...bus.Option) (*bus.Bus, error) {
		if service == "ops" {
			return connectService(ctx, url, service, bustest.Logger(t), append(extra, bus.WithNATSOptions(s.options(permissions.OperatorUser)...))...)
		}
		extra = append(extra, bus.WithoutProvisioning(), bus.WithNATSOptions(s.options(service)...))
		return connectService(ctx, url, service, bustest.Logger(t), extra...)
	}
}

func TestSecuredChoreography(t *testing.T) {
	sec := newSecuredServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var provisioned, out bytes.Buffer
	s, err := run(ctx, config{timeout: 40 * time.Second, logger: bustest.Logger(t), secured: &securedRun{
		server:    []embedded.Option{embedded.WithConfigFile(sec.confPath)},
		provision: func(ctx context.Context, url string) error { return sec.provision(ctx, url, &provisioned) },
		dial:      sec.dial(t),
		inbox:     []idempotency.KVOption{idempotency.WithExistingBucket()},
	}}, &out)
	t.Log("\n" + provisioned.String() + "\n" + out.String())
	require.NoError(t, err)

	assert.Contains(t, provisioned.String(), "create stream CMD_user\n")
	assert.Contains(t, provisioned.String(), "create consumer email__v1_user_signedup on EVT_user\n")
	assert.Contains(t, provisioned.String(), "create consumer accounts__v1_user_signup on CMD_user_MAXDELIVERIES\n")
	assert.Contains(t, provisioned.String(), "create kv bucket email_inbox\n")

	valid := map[string]int{"ada@example.com": 1, "grace@example.com": 1, "edsger@example.com": 1, "barbara@example.com": 1}
	assert.Equal(t, valid, s.EmailsDelivered, "one welcome email per user, grace's after a retry")
	assert.Equal(t, valid, s.WelcomeEvents)
	assert.Equal(t, 4, s.SignupsCounted)
	require.Len(t, s.DeadLetters, 1, "the mistyped address")
	assert.Equal(t, "accounts__v1_user_signup", s.DeadLetters[0].Consumer)
	assert.Contains(t, out.String(), "welcome email sent to "+flakyAddress+" (attempt 2)", "the retry")
	for _, user := range []string{"web", "accounts", "email", "metrics"} {
		assert.Empty(t, sec.violations(user), "%s needed nothing beyond its generated permissions", user)
	}
}

func TestNotProvisionedFailsAtStart(t *testing.T) {
	sec := newSecuredServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.WithConfigFile(sec.confPath))
	require.NoError(t, err)
	defer srv.Shutdown()
	b, err := sec.dial(t)(ctx, srv.ClientURL(), "email")
	require.NoError(t, err)
	defer b.Close(ctx)
	_, err = startEmail(ctx, b, newConsole(&bytes.Buffer{}), newMailer(), idempotency.WithExistingBucket())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "choreo provision", "the error names the command that creates the bucket")

	_, err = bus.Subscribe(ctx, b, userSignedup, "email", func(context.Context, *bus.Message[map[string]any]) error { return nil })
	require.ErrorIs(t, err, bus.ErrNotProvisioned)
	for _, missing := range []string{"stream EVT_user", "consumer email__v1_user_signedup on EVT_user", "stream DLQ",
		"stream EVT_user_MAXDELIVERIES", "consumer email__v1_user_signedup on EVT_user_MAXDELIVERIES", "choreo provision -catalog"} {
		assert.Contains(t, err.Error(), missing)
	}
	assert.Empty(t, sec.violations("email"), "checking what exists is allowed")

	// A service that forgets its reply prefix is told so, not just timed out.
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	_, err = bus.Connect(short, srv.ClientURL(), bus.WithSource("email"), bus.WithoutProvisioning(),
		bus.WithNATSOptions(nats.UserInfo("email", sec.passwords["email"])))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nats.CustomInboxPrefix(topic.InboxPrefix(namespace, service))")
	assert.NotContains(t, err.Error(), sec.passwords["email"])
}

// userSignedup is v1.user.signedup with an untyped payload.
var userSignedup = topic.MustEvent[map[string]any]("v1.user.signedup")
