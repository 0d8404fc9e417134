package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

var deletedEvt = topic.MustEvent[signedUp]("v1.user.deleted")

func TestGraphLiveDrift(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	w.signup("ada@example.com")
	w.signup("margaret.example.com") // its dead letter shows web sending
	waitFor(t, "ada's welcome", func() bool { return w.welcomedCount("ada@example.com") == 1 })
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 1)
	before := w.consumers()

	// As the catalog says: no drift.
	code, out, errOut := w.choreo("graph", "-live", "-catalog", signupCatalog)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	assert.True(t, strings.HasPrefix(out, "flowchart LR\n"), out)
	for _, edge := range []string{
		"svc_web -->|sends| cmd_v1_user_signup",
		"cmd_v1_user_signup -->|handles| svc_accounts",
		"svc_accounts -.->|publishes| evt_v1_user_signedup",
		"evt_v1_user_signedup -.->|subscribes| svc_email",
		"evt_v1_user_signedup -.->|subscribes| svc_metrics",
		"svc_email -.->|publishes| evt_v1_email_welcome_sent",
	} {
		assert.Contains(t, out, edge)
	}

	// A service the catalog does not know publishes a declared event and
	// an undeclared one.
	rogue := w.service("rogue")
	_, err := bus.Publish(context.Background(), rogue, signedUpEvt, signedUp{UserID: "x"})
	require.NoError(t, err)
	_, err = bus.Publish(context.Background(), rogue, deletedEvt, signedUp{UserID: "x"})
	require.NoError(t, err)

	code, out, errOut = w.choreo("graph", "-live", "-catalog", signupCatalog, "-format", "dot")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, out, `"svc_rogue" -> "evt_v1_user_deleted" [label="publishes", style=dashed];`)
	assert.Equal(t, `drift: undeclared_topic: event v1.user.deleted is on the bus but not in the catalog
drift: undeclared_use: rogue publishes v1.user.deleted (1 message seen), but the catalog has no service rogue
drift: undeclared_use: rogue publishes v1.user.signedup (1 message seen), but the catalog has no service rogue
choreo graph: 3 drifts between `+signupCatalog+` and the bus
`, errOut)

	code, out, errOut = w.choreo("graph", "-live", "-catalog", signupCatalog, "-json")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, errOut)
	var uses []observedUse
	var drift []driftJSON
	for line := range strings.Lines(out) {
		if strings.Contains(line, `"type":"drift"`) {
			drift = append(drift, jsonLines[driftJSON](t, line)...)
		} else {
			uses = append(uses, jsonLines[observedUse](t, line)...)
		}
	}
	assert.Contains(t, uses, observedUse{Type: "use", Service: "accounts", Role: "handles", Topic: "v1.user.signup", Kind: "command"})
	assert.Contains(t, uses, observedUse{Type: "use", Service: "web", Role: "sends", Topic: "v1.user.signup", Kind: "command", Messages: 1})
	assert.Contains(t, uses, observedUse{Type: "use", Service: "accounts", Role: "publishes", Topic: "v1.user.signedup", Kind: "event", Messages: 1})
	require.Len(t, drift, 3)
	assert.Equal(t, driftJSON{Type: "drift", Problem: "undeclared_use", Service: "rogue", Role: "publishes", Topic: "v1.user.signedup",
		Message: "rogue publishes v1.user.signedup (1 message seen), but the catalog has no service rogue"}, drift[2])

	// A declared topic nothing uses any more.
	extended := writeFile(t, "catalog.yaml", strings.Replace(readFile(t, signupCatalog), "topics:\n", "topics:\n  v1.user.renamed:\n    description: Never used.\n", 1))
	_, _, errOut = w.choreo("graph", "-live", "-catalog", extended)
	assert.Contains(t, errOut, "drift: unseen_topic: v1.user.renamed is declared but no message or group of it is on the bus\n")
	w.noConsumerLeft(before)
}

func TestGraphLiveTraffic(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	ctx, cancel := context.WithTimeout(context.Background(), bustest.Timeout)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"graph", "-live", "-for", "1500ms", "-json", "-server", w.srv.ClientURL()}, &stdout, &stderr)
	}()
	// Handled commands leave no trace: web shows only while it sends.
	var code int
	for sent := false; !sent; {
		w.signup("ada@example.com")
		select {
		case code = <-done:
			sent = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	require.Equal(t, exitOK, code, stderr.String())
	var web *observedUse
	for _, u := range jsonLines[observedUse](t, stdout.String()) {
		if u.Service == "web" {
			web = &u
		}
	}
	require.NotNil(t, web, stdout.String())
	assert.Equal(t, "sends", web.Role)
	assert.Equal(t, "v1.user.signup", web.Topic)
	assert.Positive(t, web.Messages)
}

func TestGraphLiveBadInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"graph", "-live", "-format", "png"}, exitUsage, `-format "png": use mermaid or dot`},
		{[]string{"graph", "-live", "-for", "-1s"}, exitUsage, "positive durations"},
		{[]string{"graph", "-live", "-catalog", "/nonexistent/catalog.yaml"}, exitFail, "no such file"},
	} {
		code, out, errOut := choreoCtx(t, context.Background(), tt.args...)
		assert.Equal(t, tt.code, code, tt.args)
		assert.Empty(t, out)
		assert.Contains(t, errOut, tt.want, tt.args)
	}
	assert.True(t, isLiveGraph([]string{"-catalog", "x", "-live"}))
	assert.True(t, isLiveGraph([]string{"--live=true"}))
	assert.False(t, isLiveGraph([]string{"-live=false"}))
	assert.False(t, isLiveGraph([]string{"-catalog", "live"}))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}
