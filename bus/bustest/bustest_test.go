package bustest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/topic"
)

type signup struct {
	Email string `json:"email"`
}

type signedUp struct {
	Email string `json:"email"`
}

var (
	signupCmd   = topic.MustCommand[signup]("v1.user.signup")
	signedUpEvt = topic.MustEvent[signedUp]("v1.user.signedup")
)

// startAccounts is the service under test: it turns a signup into a
// signedup event, and refuses an empty address.
func startAccounts(t *testing.T, b *bus.Bus) {
	t.Helper()
	_, err := bus.HandleCommand(t.Context(), b, signupCmd, func(ctx context.Context, m *bus.Message[signup]) error {
		if m.Data.Email == "" {
			return bus.Permanent(errors.New("no email"))
		}
		_, err := bus.Publish(ctx, b, signedUpEvt, signedUp(m.Data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCollectWaitsForEvents(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	startAccounts(t, b)
	events := bustest.Collect(t, b, signedUpEvt)
	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		if _, err := bus.Send(t.Context(), b, signupCmd, signup{Email: email}); err != nil {
			t.Fatal(err)
		}
	}
	got := events.Wait(2)
	seen := map[string]bool{got[0].Data.Email: true, got[1].Data.Email: true}
	if !seen["ada@example.com"] || !seen["grace@example.com"] {
		t.Fatalf("collected %v", seen)
	}
	events.NoMore(2, 200*time.Millisecond)
	if n := len(events.All()); n != 2 {
		t.Fatalf("All() has %d events, want 2", n)
	}
}

func TestWaitDeadLettersFindsTheRefusedCommand(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	startAccounts(t, b)
	if _, err := bus.Send(t.Context(), b, signupCmd, signup{}); err != nil {
		t.Fatal(err)
	}
	dls := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{Group: "accounts"}, 1)
	if len(dls) != 1 || !strings.Contains(dls[0].Reason, "no email") {
		t.Fatalf("dead letters %+v", dls)
	}
	if n := len(bustest.DeadLetters(t, b, bus.DeadLetterFilter{Group: "email"})); n != 0 {
		t.Fatalf("%d dead letters of group email, want 0", n)
	}
}

// recorder is a testing.TB that records failures instead of failing, to
// check that the helpers fail the test when they should.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = append(r.failed, format)
	r.mu.Unlock()
}

func (r *recorder) Helper() {}

func TestNoMoreFailsOnAnExtraEvent(t *testing.T) {
	t.Parallel()
	b := bustest.New(t, bus.WithSource("accounts"))
	rec := &recorder{TB: t}
	events := bustest.Collect(rec, b, signedUpEvt)
	for range 2 {
		if _, err := bus.Publish(t.Context(), b, signedUpEvt, signedUp{Email: "x@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	events.Wait(2)
	events.NoMore(1, time.Second)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.failed) != 1 || !strings.Contains(rec.failed[0], "no more than") {
		t.Fatalf("NoMore reported %q, want one failure", rec.failed)
	}
}
