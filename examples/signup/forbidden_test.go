package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/catalog/permissions"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

// TestForbiddenActions checks, on a provisioned server running the
// generated configuration, that each action the issue names is refused as
// a permissions violation and leaves the server's state as it was.
func TestForbiddenActions(t *testing.T) {
	sec := newSecuredServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.WithConfigFile(sec.confPath))
	require.NoError(t, err)
	defer srv.Shutdown()
	require.NoError(t, sec.provision(ctx, srv.ClientURL(), &bytes.Buffer{}))

	opNC, err := nats.Connect(srv.ClientURL(), sec.options(permissions.OperatorUser)...)
	require.NoError(t, err)
	defer opNC.Close()
	js, err := jetstream.New(opNC)
	require.NoError(t, err)
	// Something in every stream, so "nothing changed" compares real state.
	_, err = js.Publish(ctx, "cmd.v1.user.signup", []byte(`{}`))
	require.NoError(t, err)
	_, err = js.Publish(ctx, "evt.v1.user.signedup", []byte(`{}`))
	require.NoError(t, err)
	kv, err := js.KeyValue(ctx, topic.InboxBucket("", "email"))
	require.NoError(t, err)
	_, err = kv.Put(ctx, "secret", []byte("email's record"))
	require.NoError(t, err)
	before := serverState(ctx, t, js)

	conns := map[string]*nats.Conn{}
	for _, user := range []string{"web", "accounts", "email", "metrics"} {
		nc, err := nats.Connect(srv.ClientURL(), sec.options(user)...)
		require.NoError(t, err, user)
		defer nc.Close()
		conns[user] = nc
	}
	advisory := topic.AdvisoryConsumerSubject("EVT_user", "email__v1_user_signedup")
	cases := []struct {
		name, user, subject string
		subscribe           bool
	}{
		{"email publishing v1.user.signup", "email", "cmd.v1.user.signup", false},
		{"metrics pulling from email's consumer", "metrics", "$JS.API.CONSUMER.MSG.NEXT.EVT_user.email__v1_user_signedup", false},
		{"metrics acknowledging for email's consumer", "metrics", "$JS.ACK.EVT_user.email__v1_user_signedup.1.1.1.1.0", false},
		{"web deleting a stream", "web", "$JS.API.STREAM.DELETE.CMD_user", false},
		{"web creating a stream", "web", "$JS.API.STREAM.CREATE.CMD_user", false},
		{"email deleting its own consumer", "email", "$JS.API.CONSUMER.DELETE.EVT_user.email__v1_user_signedup", false},
		{"email publishing a dead letter for accounts", "email", topic.DeadLetterSubject("", "CMD_user", "accounts__v1_user_signup"), false},
		{"metrics publishing a dead letter for email", "metrics", topic.DeadLetterSubject("", "EVT_user", "email__v1_user_signedup"), false},
		{"accounts publishing a dead letter for metrics", "accounts", topic.DeadLetterSubject("", "EVT_user", "metrics__v1_user_signedup"), false},
		{"accounts reading email's inbox bucket", "accounts", "$JS.API.DIRECT.GET.KV_email_inbox.$KV.email_inbox.secret", false},
		{"accounts looking email's inbox bucket up", "accounts", "$JS.API.STREAM.INFO.KV_email_inbox", false},
		{"accounts writing email's inbox bucket", "accounts", "$KV.email_inbox.secret", false},
		{"accounts listening to email's inbox bucket", "accounts", "$KV.email_inbox.>", true},
		{"accounts listening to email's replies", "accounts", topic.InboxPrefix("", "email") + ".>", true},
		{"accounts listening to every reply", "accounts", "_INBOX.>", true},
		{"metrics reading email's dead letters", "metrics", "$JS.API.CONSUMER.CREATE.DLQ.x.dlq.*.email__v1_user_signedup", false},
		{"metrics purging the dead letters", "metrics", "$JS.API.STREAM.PURGE.DLQ", false},
	}
	for _, user := range []string{"web", "accounts", "email", "metrics"} {
		cases = append(cases, struct {
			name, user, subject string
			subscribe           bool
		}{user + " publishing a MAX_DELIVERIES advisory", user, advisory, false})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nc := conns[c.user]
			seen := len(sec.violations(c.user))
			var want string
			if c.subscribe {
				want = `Permissions Violation for Subscription to "` + c.subject + `"`
				sub, err := nc.SubscribeSync(c.subject)
				require.NoError(t, err)
				defer sub.Unsubscribe()
			} else {
				want = `Permissions Violation for Publish to "` + c.subject + `"`
				require.NoError(t, nc.Publish(c.subject, []byte(`{"stream":"EVT_user","consumer":"email__v1_user_signedup","stream_seq":1}`)))
			}
			require.NoError(t, nc.Flush())
			require.Eventually(t, func() bool {
				for _, v := range sec.violations(c.user)[seen:] {
					if strings.Contains(v, want) {
						return true
					}
				}
				return false
			}, 10*time.Second, 10*time.Millisecond, "no permissions violation for %s", c.subject)
		})
	}
	// The violations above were sent before this flush: whatever they could
	// have done has happened.
	require.NoError(t, opNC.Flush())
	assert.Equal(t, before, serverState(ctx, t, js), "a refused action changed the server's state")
}

// serverState sums up what the refused actions could change: every
// stream's messages and every consumer's progress.
func serverState(ctx context.Context, t *testing.T, js jetstream.JetStream) map[string]string {
	state := map[string]string{}
	for name := range js.StreamNames(ctx).Name() {
		s, err := js.Stream(ctx, name)
		require.NoError(t, err)
		info := s.CachedInfo()
		state["stream "+name] = fmtState(info.State.Msgs, info.State.LastSeq)
		for c := range s.ListConsumers(ctx).Info() {
			state["consumer "+name+"/"+c.Name] = fmtState(c.Delivered.Stream, c.AckFloor.Stream)
		}
	}
	return state
}

func fmtState(a, b uint64) string { return fmt.Sprintf("%d/%d", a, b) }
