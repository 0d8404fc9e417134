package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

func TestTrace(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	ada, adaCorr := w.signup("ada@example.com")
	margaret, margaretCorr := w.signup("margaret.example.com")
	_, bounceCorr := w.signup("bounce@example.com")
	waitFor(t, "ada's welcome", func() bool { return w.welcomedCount("ada@example.com") == 1 })
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 2)
	waitFor(t, "metrics to count", func() bool { return w.countedTotal() == 2 })
	before := w.consumers()

	// Ada: the handled command is gone, the events and who read them remain.
	code, out, errOut := w.choreo("trace", adaCorr)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "correlation "+adaCorr+": 3 messages, 1 no longer on the bus; ")
	assert.Contains(t, out, "? "+shortID(ada)+"  command, probably v1.user.signup: a command handled by accounts and removed from its work queue; its sender is not known\n")
	assert.Regexp(t, `└─ evt v1\.user\.signedup  \S{8}  from accounts  \S+\n`, out)
	assert.Contains(t, out, "   ├─ email: handled\n")
	assert.Contains(t, out, "   ├─ metrics: handled\n")
	assert.Regexp(t, `   └─ evt v1\.email\.welcome\.sent  \S{8}  from email  \+\d+(\.\d+)?(ms|µs|s)\n`, out)
	assert.Contains(t, out, "      └─ (no group reads v1.email.welcome.sent)\n")
	assert.Contains(t, out, "Not on the bus: the senders of handled commands")

	code, out, errOut = w.choreo("trace", "-json", adaCorr)
	require.Equal(t, exitOK, code, errOut)
	nodes := jsonLines[traceNode](t, out)
	require.Len(t, nodes, 3)
	gone, signed, welcome := nodes[0], nodes[1], nodes[2]
	assert.Equal(t, ada, gone.ID)
	assert.Equal(t, "gone", gone.Where)
	assert.Equal(t, []string{"v1.user.signup"}, gone.ProbableTopics)
	assert.Equal(t, 0, gone.Depth)
	assert.Equal(t, "v1.user.signedup", signed.Topic)
	assert.Equal(t, "event_stream", signed.Where)
	assert.Equal(t, ada, signed.ParentID)
	assert.Equal(t, 1, signed.Depth)
	assert.Nil(t, signed.SinceParentMS, "the command's time is gone with it")
	assert.Equal(t, []traceOutcome{
		{Consumer: "email__v1_user_signedup", Group: "email", State: "handled"},
		{Consumer: "metrics__v1_user_signedup", Group: "metrics", State: "handled"},
	}, signed.Consumers)
	assert.Equal(t, signed.ID, welcome.ParentID)
	assert.Equal(t, 2, welcome.Depth)
	require.NotNil(t, welcome.SinceParentMS)
	assert.GreaterOrEqual(t, *welcome.SinceParentMS, int64(0))
	assert.Equal(t, []traceOutcome{}, welcome.Consumers)

	// Margaret: the command is only in the dead-letter queue.
	code, out, errOut = w.choreo("trace", margaretCorr)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "1 message, 1 only in the dead-letter queue")
	assert.Contains(t, out, "cmd v1.user.signup  "+shortID(margaret)+"  from web")
	assert.Contains(t, out, `└─ accounts: dead letter 1 after 1 delivery: permanent: invalid email address "margaret.example.com"`)

	// The bounce: email gave up on the event, metrics counted it.
	code, out, errOut = w.choreo("trace", "-json", bounceCorr)
	require.Equal(t, exitOK, code, errOut)
	nodes = jsonLines[traceNode](t, out)
	require.Len(t, nodes, 2)
	assert.Equal(t, []traceOutcome{
		{Consumer: "email__v1_user_signedup", Group: "email", State: "dead_letter", DeadLetterSeq: 2, Deliveries: 1, Reason: "permanent: mailbox bounce@example.com unavailable"},
		{Consumer: "metrics__v1_user_signedup", Group: "metrics", State: "handled"},
	}, nodes[1].Consumers)

	// While metrics is stopped, a new signup's event waits for it.
	w.stop("metrics")
	_, graceCorr := w.signup("grace@example.com")
	waitFor(t, "grace's welcome", func() bool { return w.welcomedCount("grace@example.com") == 1 })
	code, out, _ = w.choreo("trace", graceCorr)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "metrics: waiting (not delivered yet)")
	w.noConsumerLeft(before)
}

func TestTraceBadInput(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	w.signup("ada@example.com")
	waitFor(t, "ada's welcome", func() bool { return w.welcomedCount("ada@example.com") == 1 })
	code, out, errOut := w.choreo("trace", "01a2011c-0000-7000-8000-000000000000")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `no message with correlation id "01a2011c-0000-7000-8000-000000000000"`)
	for _, args := range [][]string{{"trace"}, {"trace", "a", "b"}, {"trace", "a\x01b"}, {"trace", "x", "-since", "-1h"}} {
		code, out, errOut := choreoCtx(t, context.Background(), args...)
		assert.Equal(t, exitUsage, code, args)
		assert.Empty(t, out, args)
		assert.NotEmpty(t, errOut, args)
	}
}
