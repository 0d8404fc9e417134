package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// TestDLQ walks the dead-letter commands through the signup's dead
// letters: two malformed addresses that accounts rejected for good.
func TestDLQ(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	_, _ = w.signup("ada@example.com")
	margaret, margaretCorr := w.signup("margaret.example.com")
	bob, _ := w.signup("bob.example.com")
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 2)
	before := w.consumers()

	// ls: text and JSON.
	code, out, errOut := w.choreo("dlq", "ls")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "SEQ")
	assert.Contains(t, out, "accounts__v1_user_signup")
	assert.Contains(t, out, shortID(margaret))
	assert.Contains(t, out, `permanent: invalid email address "margaret.example.com"`)

	code, out, errOut = w.choreo("dlq", "ls", "-json")
	require.Equal(t, exitOK, code, errOut)
	dls := jsonLines[deadLetterJSON](t, out)
	require.Len(t, dls, 2)
	m := dls[0]
	assert.Equal(t, margaret, m.ID)
	assert.Equal(t, "web", m.Source)
	assert.Equal(t, "v1.user.signup", m.Topic)
	assert.Equal(t, "command", m.Kind)
	assert.Equal(t, "cmd.v1.user.signup", m.Subject)
	assert.Equal(t, "accounts", m.Group)
	assert.Equal(t, "CMD_user", m.Stream)
	assert.Equal(t, margaretCorr, m.CorrelationID)
	assert.Equal(t, 1, m.Deliveries)
	assert.NotNil(t, m.FailedAt)
	assert.Nil(t, m.Data, "ls leaves the payload to show")
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &raw))
	for _, k := range []string{"seq", "id", "source", "type", "kind", "topic", "subject", "consumer", "group", "reason", "deliveries", "failed_at", "stream", "stream_seq", "correlation_id", "time", "size"} {
		assert.Contains(t, raw, k)
	}

	code, out, _ = w.choreo("dlq", "ls", "-topic", "v1.user.signedup")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "no dead letters\n", out)

	// groups: one reason for both addresses.
	code, out, errOut = w.choreo("dlq", "groups")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `2      accounts__v1_user_signup`)
	assert.Contains(t, out, `permanent: invalid email address "…"`)
	code, out, _ = w.choreo("dlq", "groups", "-json")
	require.Equal(t, exitOK, code)
	groups := jsonLines[dlqGroupJSON](t, out)
	require.Len(t, groups, 1)
	assert.Equal(t, 2, groups[0].Count)
	assert.Equal(t, "accounts", groups[0].Group)
	assert.Equal(t, "v1.user.signup", groups[0].Topic)
	assert.Equal(t, []uint64{m.Seq, dls[1].Seq}, groups[0].Seqs)
	assert.False(t, groups[0].Newest.Before(groups[0].Oldest))

	// show, by sequence and by the end of the id.
	code, out, errOut = w.choreo("dlq", "show", strconv.FormatUint(m.Seq, 10))
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "dead letter "+strconv.FormatUint(m.Seq, 10))
	assert.Contains(t, out, "v1.user.signup (command) on cmd.v1.user.signup")
	assert.Contains(t, out, `"email": "margaret.example.com"`)
	assert.Contains(t, out, "ce-correlationid: "+margaretCorr)
	code, out, _ = w.choreo("dlq", "show", "-json", shortID(margaret))
	require.Equal(t, exitOK, code)
	shown := jsonLines[deadLetterJSON](t, out)
	require.Len(t, shown, 1)
	data, err := json.Marshal(shown[0].Data)
	require.NoError(t, err)
	assert.JSONEq(t, `{"email":"margaret.example.com","name":"N"}`, string(data))
	assert.Equal(t, []string{margaretCorr}, shown[0].Headers["ce-correlationid"])

	// A dry run changes nothing.
	code, out, errOut = w.choreo("dlq", "replay", "-group", "accounts", "-dry-run")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "would replay "+strconv.FormatUint(m.Seq, 10))
	assert.Contains(t, out, "2 dead letters would be replayed (dry run: nothing changed)")
	assert.Equal(t, 1, w.handledCount(margaret))

	// Fix Margaret's address and replay her signup: accounts sees it once
	// more, succeeds, and the chain goes on to the welcome email.
	code, out, errOut = w.choreo("dlq", "replay", shortID(margaret), "-json",
		"-data", `{"email":"margaret@example.com","name":"Margaret"}`)
	require.Equal(t, exitOK, code, errOut)
	acts := jsonLines[dlqActionJSON](t, out)
	require.Equal(t, []dlqActionJSON{{Action: "replayed", Seq: m.Seq, ID: margaret, Topic: "v1.user.signup", Consumer: "accounts__v1_user_signup"}}, acts)
	waitFor(t, "the welcome email for the fixed address", func() bool { return w.welcomedCount("margaret@example.com") == 1 })
	assert.Equal(t, 2, w.handledCount(margaret), "the failed delivery and the replayed one")
	code, _, errOut = w.choreo("dlq", "replay", strconv.FormatUint(m.Seq, 10))
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "no dead letter has sequence or message id")

	// -reason selects by the text of the reason, as given or normalised.
	code, out, _ = w.choreo("dlq", "ls", "-json", "-reason", `address "…"`)
	require.Equal(t, exitOK, code)
	assert.Len(t, jsonLines[deadLetterJSON](t, out), 1, "only bob's is left")
	code, out, _ = w.choreo("dlq", "purge", "-reason", "no such reason")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "0 dead letters purged\n", out)

	// Purge the other one by its consumer.
	code, out, errOut = w.choreo("dlq", "purge", "-consumer", "accounts__v1_user_signup")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "purged "+strconv.FormatUint(dls[1].Seq, 10))
	assert.Contains(t, out, "1 dead letter purged")
	assert.Empty(t, bustest.DeadLetters(t, w.web, bus.DeadLetterFilter{}))
	assert.Equal(t, 1, w.handledCount(bob), "purged, not replayed")
	w.noConsumerLeft(before)
}

func TestDLQBadInput(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	w.signup("margaret.example.com")
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 1)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dlq", "show"}, exitUsage, "missing argument"},
		{[]string{"dlq", "show", "abc"}, exitUsage, "at least the last 6 characters"},
		{[]string{"dlq", "show", "0"}, exitUsage, "sequences start at 1"},
		{[]string{"dlq", "show", "999"}, exitFail, `no dead letter has sequence or message id "999"`},
		{[]string{"dlq", "show", "ffffffffff"}, exitFail, "no dead letter"},
		{[]string{"dlq", "ls", "-limit", "-1"}, exitUsage, "-limit -1"},
		{[]string{"dlq", "ls", "-topic", "User Signup"}, exitFail, "dead-letter filter topic"},
		{[]string{"dlq", "ls", "-group", "a__b"}, exitFail, "dead-letter filter"},
		{[]string{"dlq", "ls", "-consumer", "a.b"}, exitFail, "consumer"},
		{[]string{"dlq", "ls", "-namespace", "Prod"}, exitUsage, "-namespace"},
		{[]string{"dlq", "ls", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"dlq", "replay"}, exitUsage, "say which dead letters"},
		{[]string{"dlq", "replay", "1", "-all"}, exitUsage, "not both"},
		{[]string{"dlq", "replay", "-all", "-group", "x"}, exitUsage, "-all selects every dead letter"},
		{[]string{"dlq", "replay", "-all", "-data", "{}"}, exitUsage, "give exactly one ID"},
		{[]string{"dlq", "replay", "1", "-data", "{not json"}, exitFail, "not valid JSON"},
		{[]string{"dlq", "purge", "-since", "1h"}, exitUsage, "say which dead letters"},
		{[]string{"dlq", "ls", "-tlscert", "x.pem"}, exitUsage, "-tlscert and -tlskey go together"},
	}
	for _, tt := range tests {
		code, out, errOut := w.choreo(tt.args...)
		assert.Equal(t, tt.code, code, "%v: %s", tt.args, errOut)
		assert.Contains(t, errOut, tt.want, tt.args)
		if tt.code == exitUsage {
			assert.Empty(t, out, tt.args)
		}
	}
	for args, want := range map[string]string{"dlq": "choreo dlq: missing command", "dlq rm": `choreo dlq: unknown command "rm"`} {
		code, out, errOut := choreoCtx(t, context.Background(), strings.Fields(args)...)
		assert.Equal(t, exitUsage, code, args)
		assert.Empty(t, out, args)
		assert.Contains(t, errOut, want, args)
	}
	// Nothing above changed the dead letter.
	assert.Len(t, bustest.DeadLetters(t, w.web, bus.DeadLetterFilter{}), 1)
}

func TestOpsHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"dlq", "-h"}, {"dlq", "ls", "-h"}, {"dlq", "show", "-h"}, {"dlq", "replay", "-h"}, {"dlq", "purge", "-h"}, {"dlq", "groups", "-h"},
		{"groups", "-h"}, {"groups", "ls", "-h"}, {"groups", "rm", "-h"}, {"status", "-h"}, {"tail", "-h"}, {"trace", "-h"}, {"graph", "-live", "-h"}} {
		code, out, errOut := choreoCtx(t, context.Background(), args...)
		assert.Equal(t, exitOK, code, args)
		assert.Empty(t, errOut, args)
		assert.Contains(t, out, "Usage: choreo "+strings.Join(args[:len(args)-1], " "), args)
		if len(args) > 2 || args[0] == "status" || args[0] == "tail" || args[0] == "trace" {
			assert.Contains(t, out, "Example", args)
			assert.Contains(t, out, "-server", args)
			assert.Contains(t, out, "-json", args)
		}
	}
}

// TestDLQReadChangesNothing: reading dead letters must not raise the
// dead-letter stream's settings to the bus defaults.
func TestDLQReadChangesNothing(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	corr := func() string { _, c := w.signup("margaret.example.com"); return c }()
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 1)
	ctx := context.Background()
	js := w.web.JetStream()
	stream, err := js.Stream(ctx, "DLQ")
	require.NoError(t, err)
	cfg := stream.CachedInfo().Config
	cfg.MaxAge, cfg.MaxBytes, cfg.Duplicates = time.Hour, 1<<20, time.Minute
	_, err = js.UpdateStream(ctx, cfg)
	require.NoError(t, err)

	for _, args := range [][]string{{"dlq", "ls"}, {"dlq", "groups"}, {"dlq", "show", "1"}, {"trace", corr}, {"graph", "-live"}} {
		code, _, errOut := w.choreo(args...)
		require.Equal(t, exitOK, code, "%v: %s", args, errOut)
	}
	stream, err = js.Stream(ctx, "DLQ")
	require.NoError(t, err)
	have := stream.CachedInfo().Config
	assert.Equal(t, time.Hour, have.MaxAge)
	assert.Equal(t, int64(1<<20), have.MaxBytes)
	assert.Equal(t, time.Minute, have.Duplicates)
}
