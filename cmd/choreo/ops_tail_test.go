package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

func TestTailHistory(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	ada, adaCorr := w.signup("ada@example.com")
	w.signup("margaret.example.com")
	waitFor(t, "ada's welcome", func() bool { return w.welcomedCount("ada@example.com") == 1 })
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 1)
	before := w.consumers()

	// Handled and dead-lettered commands have left their work queue; the
	// events remain.
	code, out, errOut := w.choreo("tail", "-all", "-json", "-for", "300ms")
	require.Equal(t, exitOK, code, errOut)
	lines := jsonLines[tailJSON](t, out)
	require.Len(t, lines, 2, out)
	signed, welcome := lines[0], lines[1]
	assert.Equal(t, "history", signed.From)
	assert.Equal(t, "event", signed.Kind)
	assert.Equal(t, "v1.user.signedup", signed.Topic)
	assert.Equal(t, "evt.v1.user.signedup", signed.Subject)
	assert.Equal(t, "accounts", signed.Source)
	assert.Equal(t, adaCorr, signed.CorrelationID)
	assert.Equal(t, ada, signed.CausationID)
	assert.Equal(t, "EVT_user", signed.Stream)
	assert.Equal(t, uint64(1), signed.StreamSeq)
	assert.Equal(t, map[string]any{"user_id": "u-ada@example.com", "email": "ada@example.com"}, signed.Data)
	assert.Equal(t, "v1.email.welcome.sent", welcome.Topic)
	assert.Equal(t, signed.ID, welcome.CausationID)
	assert.False(t, welcome.Time.Before(signed.Time), "oldest first across streams")

	code, out, errOut = w.choreo("tail", "-all", "v1.email.>", "-count", "1")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, tailHeader, strings.SplitN(out, "\n", 2)[0])
	assert.Regexp(t, `evt  v1\.email\.welcome\.sent\s+\S{8}  `+shortID(adaCorr)+`  email\s+\d+B  \{"user_id":"u-ada@example.com"`, out)

	code, out, _ = w.choreo("tail", "-all", "-json", "-source", "email", "-for", "300ms")
	require.Equal(t, exitOK, code)
	assert.Len(t, jsonLines[tailJSON](t, out), 1)
	code, out, _ = w.choreo("tail", "-all", "-json", "-kind", "command", "-for", "300ms")
	require.Equal(t, exitOK, code)
	assert.Empty(t, out)

	// A command no handler has taken yet is still in its work queue, and
	// tail reads it there without taking it.
	w.stop("accounts")
	waiting, _ := w.signup("grace@example.com")
	code, out, errOut = w.choreo("tail", "-all", "-json", "-kind", "command", "-count", "1")
	require.Equal(t, exitOK, code, errOut)
	lines = jsonLines[tailJSON](t, out)
	require.Len(t, lines, 1)
	assert.Equal(t, waiting, lines[0].ID)
	assert.Equal(t, "CMD_user", lines[0].Stream)
	info, err := w.consumerInfo("CMD_user", "accounts__v1_user_signup")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.NumPending, "still waiting for accounts")
	w.noConsumerLeft(before)
}

func TestTailLive(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	w.signup("ada@example.com") // creates the streams
	waitFor(t, "ada's welcome", func() bool { return w.welcomedCount("ada@example.com") == 1 })
	before := w.consumers()

	ctx, cancel := context.WithTimeout(context.Background(), bustest.Timeout)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"tail", "v1.user.signup", "-json", "-count", "1", "-server", w.srv.ClientURL()}, &stdout, &stderr)
	}()
	// Send signups until tail, subscribed at some point, has printed one.
	var code int
	ids := map[string]string{}
	for sent := false; !sent; {
		id, corr := w.signup("grace@example.com")
		ids[id] = corr
		select {
		case code = <-done:
			sent = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	require.Equal(t, exitOK, code, stderr.String())
	lines := jsonLines[tailJSON](t, stdout.String())
	require.Len(t, lines, 1)
	l := lines[0]
	assert.Equal(t, "live", l.From)
	assert.Equal(t, "command", l.Kind)
	assert.Equal(t, "web", l.Source)
	assert.Equal(t, ids[l.ID], l.CorrelationID)
	assert.Empty(t, l.Stream, "a live message has no place in a stream yet")
	w.noConsumerLeft(before)
}

func TestTailBadInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tail", "v1.User.signup"}, "upper case"},
		{[]string{"tail", "v1.>.signup"}, "must come last"},
		{[]string{"tail", "v1.us-er.*"}, `segment 2 "us-er"`},
		{[]string{"tail", "-kind", "query"}, `-kind "query": use command or event`},
		{[]string{"tail", "-since", "1h", "-all"}, "not both"},
		{[]string{"tail", "-count", "-2"}, "-count -2"},
	} {
		code, out, errOut := choreoCtx(t, context.Background(), tt.args...)
		assert.Equal(t, exitUsage, code, tt.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tt.want, tt.args)
	}
}
