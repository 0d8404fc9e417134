package bus

import "testing"

// A message an older choreo redelivered is dead-lettered under its topic's
// subject, so a later Redeliver puts it where today's consumers read.
func TestTopicSubjectStripsLegacyRedelivery(t *testing.T) {
	for in, want := range map[string]string{
		"evt.v1.user.signedup": "evt.v1.user.signedup",
		"evt.v1.user.signedup._redeliver.email__v1_user_signedup":     "evt.v1.user.signedup",
		"acme.cmd.v1.user.signup._redeliver.accounts__v1_user_signup": "acme.cmd.v1.user.signup",
	} {
		if got := topicSubject(in); got != want {
			t.Errorf("topicSubject(%q) = %q, want %q", in, got, want)
		}
	}
}
