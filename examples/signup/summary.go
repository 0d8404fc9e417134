package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/examples/signup/topics"
)

// Summary is what one all-in-one run did, counted by each service and
// observed on the bus.
type Summary struct {
	// SignupsSent is how many v1.user.signup commands web sent.
	SignupsSent int
	// UsersCreated is how many accounts accounts holds.
	UsersCreated int
	// EmailsDelivered is how many welcome emails the mail provider
	// delivered, by address.
	EmailsDelivered map[string]int
	// WelcomeEvents is how many v1.email.welcome.sent events were
	// published, by address.
	WelcomeEvents map[string]int
	// SignupsCounted is the metrics service's sign-up count.
	SignupsCounted int
	// DeadLetters are the messages parked in the dead-letter queue.
	DeadLetters []bus.DeadLetter
}

// check reports every way the run went wrong: each signup must have ended
// as a user or a dead letter, and each user must have been welcomed and
// counted exactly once.
func (s Summary) check() error {
	var errs []error
	if s.UsersCreated+len(s.DeadLetters) != s.SignupsSent {
		errs = append(errs, fmt.Errorf("%d signups sent, but %d users created and %d dead letters",
			s.SignupsSent, s.UsersCreated, len(s.DeadLetters)))
	}
	for _, tally := range []struct {
		what   string
		counts map[string]int
	}{
		{"welcome emails delivered", s.EmailsDelivered},
		{"v1.email.welcome.sent events", s.WelcomeEvents},
	} {
		if len(tally.counts) != s.UsersCreated {
			errs = append(errs, fmt.Errorf("%s reached %d addresses, want one per user: %d", tally.what, len(tally.counts), s.UsersCreated))
		}
		for _, addr := range slices.Sorted(maps.Keys(tally.counts)) {
			if n := tally.counts[addr]; n != 1 {
				errs = append(errs, fmt.Errorf("%s to %s: %d, want exactly 1", tally.what, addr, n))
			}
		}
	}
	if s.SignupsCounted != s.UsersCreated {
		errs = append(errs, fmt.Errorf("metrics counted %d sign-ups, want %d", s.SignupsCounted, s.UsersCreated))
	}
	for _, dl := range s.DeadLetters {
		if dl.Envelope == nil || dl.Envelope.Type != topics.TopicUserSignupV1 {
			errs = append(errs, fmt.Errorf("unexpected dead letter #%d on %s: %s", dl.Sequence, dl.Subject, dl.Reason))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the summary does not add up: %w", errors.Join(errs...))
	}
	return nil
}

// print writes the summary under the trace.
func (s Summary) print(w io.Writer) {
	fmt.Fprintf(w, "\nsummary of %d signups:\n", s.SignupsSent)
	fmt.Fprintf(w, "  users created           %d\n", s.UsersCreated)
	fmt.Fprintf(w, "  welcome emails sent     %s\n", perAddress(s.EmailsDelivered))
	fmt.Fprintf(w, "  welcome.sent events     %s\n", perAddress(s.WelcomeEvents))
	fmt.Fprintf(w, "  sign-ups in metrics     %d\n", s.SignupsCounted)
	fmt.Fprintf(w, "  dead letters            %d, none redelivered\n", len(s.DeadLetters))
}

// perAddress says how many there were and whether any address got more
// than one.
func perAddress(counts map[string]int) string {
	total, twice := 0, 0
	for _, n := range counts {
		total += n
		if n > 1 {
			twice++
		}
	}
	if twice > 0 {
		return fmt.Sprintf("%d, to %d addresses: %d of them more than once", total, len(counts), twice)
	}
	return fmt.Sprintf("%d, one per address", total)
}
