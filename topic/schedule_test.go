package topic_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/choreo-bus/choreo/topic"
)

func TestScheduleSubjectIsOneTokenPerMessageInsideTheStream(t *testing.T) {
	n := topic.MustCommand[struct{}]("v1.user.remind").Name()
	subject := topic.Subject("prod.eu", topic.KindCommand, n)
	a := topic.ScheduleSubject(subject, "web 0190f8f0-7c4e")
	b := topic.ScheduleSubject(subject, "web 0190f8f0-7c4f")
	if a == b {
		t.Fatalf("two message ids share the schedule subject %s", a)
	}
	if a != topic.ScheduleSubject(subject, "web 0190f8f0-7c4e") {
		t.Fatal("the schedule subject of one message id changed between calls")
	}
	if !regexp.MustCompile(`^prod\.eu\.cmd\.v1\.user\.remind\._sched\.[0-9a-f]{32}$`).MatchString(a) {
		t.Fatalf("schedule subject %s is not <subject>._sched.<32 hex>", a)
	}
	// Inside the stream's subjects ("prod.eu.cmd.*.user.>"), under the
	// topic's schedule filter, and not the topic's own subject.
	if !strings.HasPrefix(a, "prod.eu.cmd.v1.user.") || a == subject {
		t.Fatalf("schedule subject %s is outside the stream of %s", a, subject)
	}
	if want := subject + "._sched.*"; topic.ScheduleSubjects(subject) != want {
		t.Fatalf("ScheduleSubjects = %s, want %s", topic.ScheduleSubjects(subject), want)
	}
}
