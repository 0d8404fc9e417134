package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

// TestHostileMessages: what others put on the bus (control sequences in
// payloads, headers and forged dead letters) never reaches the terminal
// as is, and nothing fails on it.
func TestHostileMessages(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	w.signup("margaret.example.com")
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 1)
	ctx := context.Background()
	js := w.web.JetStream()

	evil := &nats.Msg{Subject: "evt.v1.user.signedup", Header: nats.Header{}, Data: []byte("\x1b[2J\xc2\x9b31m\xff payload")}
	evil.Header.Set("ce-source", "evil\x1b]0;owned\x07")
	_, err := js.PublishMsg(ctx, evil)
	require.NoError(t, err)
	forged := &nats.Msg{Subject: "dlq.CMD_user.accounts__v1_user_signup", Header: nats.Header{}, Data: []byte("x")}
	forged.Header.Set(topic.HeaderDeadLetterConsumer, "acc\x1b[31m")
	forged.Header.Set(topic.HeaderDeadLetterReason, "boom \x1b[1mbold")
	forged.Header.Set(topic.HeaderDeadLetterSubject, "cmd.v1.user.signup\x1b")
	ack, err := js.PublishMsg(ctx, forged)
	require.NoError(t, err)
	// The subscribers may park the evil event before or after the forged
	// dead letter arrives: address the forged one by its own sequence.
	forgedSeq := strconv.FormatUint(ack.Sequence, 10)

	for _, args := range [][]string{
		{"tail", "-all", "-for", "300ms"}, {"tail", "-all", "-for", "300ms", "-json"},
		{"dlq", "ls"}, {"dlq", "ls", "-json"}, {"dlq", "show", forgedSeq}, {"dlq", "show", "-json", forgedSeq}, {"dlq", "groups"},
		{"graph", "-live"},
	} {
		code, out, errOut := w.choreo(args...)
		assert.Equal(t, exitOK, code, "%v: %s", args, errOut)
		for _, bad := range []string{"\x1b", "\xc2\x9b", "\x07", "\xff"} {
			assert.NotContains(t, out+errOut, bad, args)
		}
		assert.NotEmpty(t, out, args)
	}
	code, out, _ := w.choreo("tail", "-all", "-for", "300ms")
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, `\u001b[2J\u009b31m`+"\uFFFD payload")
	assert.Contains(t, out, "not a CloudEvent")

	// A forged dead letter is refused by replay, and said so.
	code, _, errOut := w.choreo("dlq", "replay", forgedSeq)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "does not name a topic of its stream")
	assert.False(t, strings.ContainsRune(errOut, 0x1b))
}
