package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/topic"
)

// TestEmailWelcomesOnceWhenAnEventArrivesTwice delivers one
// v1.user.signedup twice, as JetStream does after a lost ack or a crash:
// same ce-id, a second copy the broker's duplicate window does not catch.
// The inbox lets the handler run once: one email, one welcome.sent.
func TestEmailWelcomesOnceWhenAnEventArrivesTwice(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv, bus.WithSource("email"))
	var out syncBuffer
	mail := newMailer()
	_, err := startEmail(ctx, b, newConsole(&out), mail)
	require.NoError(t, err)

	signedUp := &envelope.Envelope{
		ID: envelope.NewID(), Source: "accounts", Type: topics.TopicUserSignedupV1,
		Time: time.Now(), DataContentType: "application/json",
		Data: mustJSON(t, topics.UserSignedupV1{UserID: "u-1", Email: "ada@example.com", Name: "Ada"}),
	}
	subject := topic.Subject("", topic.KindEvent, topics.UserSignedupV1Event.Name())
	publishCopy(ctx, t, b, subject, signedUp, signedUp.ID)
	publishCopy(ctx, t, b, subject, signedUp, "copy-of-"+signedUp.ID)

	waitConsumed(ctx, t, b, subject, "email__v1_user_signedup", 2)
	assert.Equal(t, map[string]int{"ada@example.com": 1}, mail.deliveries())
	assert.EqualValues(t, 1, streamMsgs(ctx, t, b, topic.Subject("", topic.KindEvent, topics.EmailWelcomeSentV1Event.Name())),
		"the copy did not run the handler, so it published no second welcome.sent")
	assert.Equal(t, 1, strings.Count(out.String(), "welcome email sent to ada@example.com"), out.String())
}

// TestAccountsHandlesACommandTwiceWithOneEvent delivers one
// v1.user.signup twice, then another signup for the same address. The
// redelivery finds the user, committed with its event in the outbox, and
// announces nothing; the second signup is dead-lettered.
func TestAccountsHandlesACommandTwiceWithOneEvent(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := bustest.NewServer(t)
	b := bustest.Connect(t, srv, bus.WithSource("accounts"))
	var out syncBuffer
	acc, err := startAccounts(ctx, b, newConsole(&out))
	require.NoError(t, err)
	t.Cleanup(acc.close)

	form := mustJSON(t, topics.UserSignupV1{Email: "ada@example.com", Name: "Ada"})
	signup := &envelope.Envelope{
		ID: envelope.NewID(), Source: "web", Type: topics.TopicUserSignupV1,
		Time: time.Now(), DataContentType: "application/json", Data: form,
	}
	subject := topic.Subject("", topic.KindCommand, topics.UserSignupV1Command.Name())
	publishCopy(ctx, t, b, subject, signup, signup.ID)
	publishCopy(ctx, t, b, subject, signup, "copy-of-"+signup.ID)
	again := *signup
	again.ID = envelope.NewID()
	publishCopy(ctx, t, b, subject, &again, again.ID)

	waitConsumed(ctx, t, b, subject, "accounts__v1_user_signup", 3)
	assert.Equal(t, 1, acc.count())
	events := topic.Subject("", topic.KindEvent, topics.UserSignedupV1Event.Name())
	require.Eventually(t, func() bool { return streamMsgs(ctx, t, b, events) >= 1 }, 10*time.Second, 10*time.Millisecond,
		"the outbox relay publishes the v1.user.signedup committed with the user")
	assert.Contains(t, out.String(), "exists from this command's earlier delivery")
	acc.stop() // whatever it had to publish is published: the outbox is empty
	var waiting int
	require.NoError(t, acc.db.QueryRow(`SELECT count(*) FROM choreo_outbox`).Scan(&waiting))
	assert.Zero(t, waiting)
	assert.EqualValues(t, 1, streamMsgs(ctx, t, b, events),
		"one v1.user.signedup: the redelivery found the user, stored with its event, and announced nothing")

	dead, err := allDeadLetters(ctx, b)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, again.ID, dead[0].Envelope.ID)
	assert.Contains(t, dead[0].Reason, errEmailTaken.Error())
}

// TestServicesRunSeparately runs each service the way
// `-service NAME` does, on one server, then stops them like Ctrl-C.
func TestServicesRunSeparately(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv := bustest.NewServer(t)
	logger := bustest.Logger(t)
	outs := map[string]*syncBuffer{}
	errs := make(chan error, 3)
	running, stop := context.WithCancel(ctx)
	defer stop()
	for _, name := range []string{"accounts", "email", "metrics"} {
		out := &syncBuffer{}
		outs[name] = out
		cfg := config{natsURL: srv.ClientURL(), service: name, logger: logger}
		go func() { errs <- serve(running, cfg, out, &syncBuffer{}) }()
	}
	var web bytes.Buffer
	require.NoError(t, serve(ctx, config{natsURL: srv.ClientURL(), service: "web", logger: logger}, &web, &bytes.Buffer{}))
	assert.Equal(t, 5, strings.Count(web.String(), "signup form posted"))

	require.Eventually(t, func() bool {
		return strings.Count(outs["email"].String(), "welcome email sent") == 4 &&
			strings.Contains(outs["metrics"].String(), "sign-ups counted: 4") &&
			strings.Contains(outs["accounts"].String(), "dead-letter queue")
	}, 10*time.Second, 20*time.Millisecond, "email, metrics and accounts output:\n%s%s%s", outs["email"], outs["metrics"], outs["accounts"])

	stop() // Ctrl-C: each drains and returns without error
	for range 3 {
		require.NoError(t, <-errs)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // "" when valid
	}{
		{args: nil},
		{args: []string{"-service", "email", "-nats", "nats://10.0.0.1:4222"}},
		{args: []string{"-service", "billing"}, want: `-service "billing": use accounts, email, metrics or web`},
		{args: []string{"-nats", "nats://10.0.0.1:4222"}, want: "-nats needs -service"},
		{args: []string{"-timeout", "0s"}, want: "-timeout 0s: use a positive duration"},
		{args: []string{"accounts"}, want: `unexpected argument "accounts"`},
		{args: []string{"-service", "email", "-trace"}, want: "-trace prints the all-in-one run's trace"},
	} {
		cfg, err := parseFlags(tc.args, &bytes.Buffer{})
		if tc.want != "" {
			require.Error(t, err, tc.args)
			assert.Contains(t, err.Error(), tc.want, tc.args)
			continue
		}
		require.NoError(t, err, tc.args)
		if cfg.service == "" {
			assert.Nil(t, cfg.logger, "all-in-one is quiet without -v")
		} else {
			assert.Equal(t, "nats://10.0.0.1:4222", cfg.natsURL)
			assert.NotNil(t, cfg.logger, "a service on its own logs")
		}
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

// publishCopy stores env on subject with the Nats-Msg-Id msgID: a second
// copy of one message under another msgID gets past the broker's duplicate
// window, like a redelivery or a late retry.
func publishCopy(ctx context.Context, t *testing.T, b *bus.Bus, subject string, env *envelope.Envelope, msgID string) {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Header: nats.Header{}}
	require.NoError(t, envelope.Write(msg, env))
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	_, err := b.JetStream().PublishMsg(ctx, msg)
	require.NoError(t, err)
}

// waitConsumed waits until consumer has been delivered n messages and has
// settled all of them (acked or dead-lettered).
func waitConsumed(ctx context.Context, t *testing.T, b *bus.Bus, subject, consumer string, n uint64) {
	t.Helper()
	stream, err := b.JetStream().StreamNameBySubject(ctx, subject)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		c, err := b.JetStream().Consumer(ctx, stream, consumer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream >= n && info.NumAckPending == 0 && info.NumPending == 0
	}, 10*time.Second, 20*time.Millisecond)
}

// streamMsgs counts the messages on subject.
func streamMsgs(ctx context.Context, t *testing.T, b *bus.Bus, subject string) uint64 {
	t.Helper()
	name, err := b.JetStream().StreamNameBySubject(ctx, subject)
	require.NoError(t, err)
	s, err := b.JetStream().Stream(ctx, name)
	require.NoError(t, err)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	return info.State.Subjects[subject]
}

// syncBuffer is a bytes.Buffer safe to read while services write to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
