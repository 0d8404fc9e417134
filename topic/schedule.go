package topic

import (
	"crypto/sha256"
	"encoding/hex"
)

// scheduleToken separates a topic's subject from the subjects of its
// pending scheduled messages. '_' never appears in a topic name, so no
// topic's subject can be mistaken for a schedule's.
const scheduleToken = "_sched"

// ScheduleSubject is where a message to be delivered later waits, in the
// stream of its topic, until nats-server publishes it on subject (the
// topic's wire subject): "<subject>._sched.<hash of msgID>", for example
// "cmd.v1.user.remind._sched.9f86d081884c7d659a2feaa0c55ad015". Each
// message (its Nats-Msg-Id) has a subject of its own, because the server
// keeps one schedule per subject: a second schedule for the same message
// replaces the first instead of adding a second delivery. Consumers of the
// topic filter on subject exactly, so they never see the schedule itself.
// Safe for concurrent use.
func ScheduleSubject(subject, msgID string) string {
	sum := sha256.Sum256([]byte(msgID))
	return subject + "." + scheduleToken + "." + hex.EncodeToString(sum[:16])
}

// ScheduleSubjects is the subject filter of every schedule of one topic,
// "<subject>._sched.*", for permissions: a service that sends delayed
// messages on a topic needs to publish on it as well as on subject.
func ScheduleSubjects(subject string) string { return subject + "." + scheduleToken + ".*" }
