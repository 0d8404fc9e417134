package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
)

// TestGroupsOrphan renames accounts: the old name's consumer blocks the new
// one until 'groups rm' removes it, and the commands that waited meanwhile
// go to the renamed service.
func TestGroupsOrphan(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	w.signup("ada@example.com")
	w.signup("margaret.example.com")
	waitFor(t, "ada's welcome", func() bool { return w.welcomedCount("ada@example.com") == 1 })
	bustest.WaitDeadLetters(t, w.web, bus.DeadLetterFilter{}, 1)
	before := w.consumers()

	code, out, errOut := w.choreo("groups", "ls")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "GROUP")
	assert.Regexp(t, `accounts\s+0\s+0\s+1\s+1\s+\S+.*v1\.user\.signup`, out)
	assert.Regexp(t, `email\s+0\s+0\s+0\s+1\s.*v1\.user\.signedup`, out)

	code, out, errOut = w.choreo("groups", "ls", "-json")
	require.Equal(t, exitOK, code, errOut)
	groups := jsonLines[groupJSON](t, out)
	require.Len(t, groups, 3)
	assert.Equal(t, []string{"accounts", "email", "metrics"}, []string{groups[0].Group, groups[1].Group, groups[2].Group})
	acc := groups[0]
	assert.Equal(t, []string{"v1.user.signup"}, acc.Topics)
	assert.Equal(t, 1, acc.DeadLetters)
	assert.NotNil(t, acc.LastActive)
	require.Len(t, acc.Consumers, 1)
	assert.Equal(t, groupConsumerJSON{
		Consumer: "accounts__v1_user_signup", Stream: "CMD_user", Kind: "command", Topic: "v1.user.signup",
		DeadLetters: 1, Instances: acc.Consumers[0].Instances, Created: acc.Consumers[0].Created, LastActive: acc.Consumers[0].LastActive,
	}, acc.Consumers[0])

	// accounts stops; signups wait for it in the work queue.
	w.stop("accounts")
	waiting, _ := w.signup("grace@example.com")
	code, _, errOut = w.choreo("groups", "rm", "accounts")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "nothing removed: accounts__v1_user_signup on CMD_user has 1 messages not yet delivered")
	assert.Contains(t, errOut, "-force")

	// Renamed, the service cannot take over the command.
	v2 := w.service("accounts-v2")
	handledByV2 := make(chan string, 4)
	handle := func(_ context.Context, m *bus.Message[signupForm]) error {
		handledByV2 <- m.Envelope.ID
		return nil
	}
	_, err := bus.HandleCommand(context.Background(), v2, signupCmd, handle)
	require.ErrorContains(t, err, "another service already handles this command")

	code, out, errOut = w.choreo("groups", "rm", "accounts", "-dry-run", "-force", "-json")
	require.Equal(t, exitOK, code, errOut)
	rm := jsonLines[groupRemovalJSON](t, out)
	require.Equal(t, []groupRemovalJSON{{Action: "would_remove", Group: "accounts", Consumer: "accounts__v1_user_signup",
		Stream: "CMD_user", Topic: "v1.user.signup", Pending: 1, Instances: rm[0].Instances}}, rm)

	code, out, errOut = w.choreo("groups", "rm", "-force", "accounts")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "removed consumer accounts__v1_user_signup of group accounts from CMD_user (v1.user.signup)\n", out)

	_, err = bus.HandleCommand(context.Background(), v2, signupCmd, handle)
	require.NoError(t, err)
	select {
	case id := <-handledByV2:
		assert.Equal(t, waiting, id, "the command that waited goes to the renamed service")
	case <-time.After(bustest.Timeout):
		t.Fatal("the renamed service never got the command that waited")
	}
	before["CMD_user/accounts-v2__v1_user_signup"] = true               // the renamed service's own
	before["CMD_user_MAXDELIVERIES/accounts-v2__v1_user_signup"] = true // and its advisory converter
	assert.NotContains(t, w.consumers(), "CMD_user_MAXDELIVERIES/accounts__v1_user_signup", "the removed group's converter went with it")
	w.noConsumerLeft(before)
	code, _, errOut = w.choreo("groups", "rm", "accounts")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, `no consumer group or consumer "accounts"`)
}

func TestGroupsBadInput(t *testing.T) {
	t.Parallel()
	w := startSignup(t)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"groups", "rm"}, exitUsage, "missing argument"},
		{[]string{"groups", "rm", "a.b"}, exitUsage, `"a.b" is neither a group name nor a consumer name`},
		{[]string{"groups", "rm", "email", "nosuch"}, exitFail, `no consumer group or consumer "nosuch"`},
		{[]string{"groups", "ls", "x"}, exitUsage, `unexpected argument "x"`},
		{[]string{"groups", "rm", "email"}, exitFail, "instances pulling"},
	} {
		code, out, errOut := w.choreo(tt.args...)
		assert.Equal(t, tt.code, code, "%v: %s", tt.args, errOut)
		assert.Contains(t, errOut, tt.want, tt.args)
		assert.Empty(t, out, tt.args)
	}
	_, err := w.consumerInfo("EVT_user", "email__v1_user_signedup")
	assert.NoError(t, err, "a refused removal removes nothing")
}
