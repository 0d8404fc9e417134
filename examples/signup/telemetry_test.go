package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus/bustest"
)

// TestTraceAndMetrics runs `signup -trace -metrics 127.0.0.1:0`: the tree
// printed is Grace's whole signup as one trace, each span under the one
// that caused it, and the scrape of the Prometheus endpoint counts the
// run's outcomes.
func TestTraceAndMetrics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	_, err := run(ctx, config{timeout: 20 * time.Second, logger: bustest.Logger(t), trace: true, metricsAddr: "127.0.0.1:0"}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	text := out.String()

	_, tree, ok := strings.Cut(text, "the signup whose welcome email was retried, 8 spans\n")
	require.True(t, ok, "the trace's title")
	tree, _, _ = strings.Cut(tree, "\n\n")
	spans := parseTree(t, tree)
	require.Len(t, spans, 8)

	send := spans.one(t, "send v1.user.signup", "web", "")
	accounts := spans.one(t, "process v1.user.signup", "accounts", "attempt 1: ack")
	signedUp := spans.one(t, "publish v1.user.signedup", "accounts", "")
	failed := spans.one(t, "process v1.user.signedup", "email", "attempt 1: retry (sending the welcome email to "+flakyAddress)
	welcomed := spans.one(t, "process v1.user.signedup", "email", "attempt 2: ack")
	counted := spans.one(t, "process v1.user.signedup", "metrics", "attempt 1: ack")
	announced := spans.one(t, "publish v1.email.welcome.sent", "email", "")
	ops := spans.one(t, "process v1.email.welcome.sent", "ops", "attempt 1: ack")
	assert.Equal(t, -1, send.parent, "web's send is the root")
	for _, p := range [][2]treeSpan{
		{accounts, send}, {signedUp, accounts}, {failed, signedUp}, {welcomed, signedUp},
		{counted, signedUp}, {announced, welcomed}, {ops, announced},
	} {
		assert.Equal(t, p[1].n, p[0].parent, "%s (%s) under %s", p[0].name, p[0].service, p[1].name)
	}

	for _, want := range []string{
		`choreo_messages_settled_total{choreo_settlement="retry",error_type="_OTHER",messaging_consumer_group_name="email",.*} 1`,
		`choreo_messages_settled_total{choreo_settlement="dead_letter",error_type="permanent",messaging_consumer_group_name="accounts",.*} 1`,
		`choreo_messages_settled_total{choreo_settlement="ack",messaging_consumer_group_name="accounts",.*} 4`,
		`messaging_client_consumed_messages_total{messaging_consumer_group_name="email",.*} 5`,
		`messaging_client_sent_messages_total{messaging_destination_name="v1.user.signup",messaging_operation_name="send",messaging_system="nats"} 5`,
	} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^  `+want+`$`), text)
	}
}

// treeSpan is one line of the printed tree: its position, its parent's
// (-1 for a root), the span's name, service and outcome.
type treeSpan struct {
	n, parent              int
	name, service, outcome string
}

type tree []treeSpan

// parseTree reads the indented tree back: each level indents by three
// columns ("├─ ", "│  ", "└─ " or spaces).
func parseTree(t *testing.T, text string) tree {
	t.Helper()
	var spans tree
	var stack []int // the last span seen at each depth
	for i, line := range strings.Split(text, "\n") {
		runes := []rune(line)
		start := 0
		for start < len(runes) && strings.ContainsRune("├└│─ ", runes[start]) {
			start++
		}
		require.Zero(t, start%3, "line %d is indented by whole levels: %q", i, line)
		depth := start / 3
		require.LessOrEqual(t, depth, len(stack), "line %d skips a level: %q", i, line)
		f := strings.Fields(string(runes[start:]))
		require.GreaterOrEqual(t, len(f), 4, "line %d: name, service, duration: %q", i, line)
		s := treeSpan{n: i, parent: -1, name: f[0] + " " + f[1], service: f[2], outcome: strings.Join(f[4:], " ")}
		if depth > 0 {
			s.parent = stack[depth-1]
		}
		stack = append(stack[:depth], i)
		spans = append(spans, s)
	}
	return spans
}

func (tr tree) one(t *testing.T, name, service, outcome string) treeSpan {
	t.Helper()
	var found []treeSpan
	for _, s := range tr {
		if s.name == name && s.service == service && strings.HasPrefix(s.outcome, outcome) && (outcome != "" || s.outcome == "") {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "one %s by %s with outcome %q in %+v", name, service, outcome, tr)
	return found[0]
}
