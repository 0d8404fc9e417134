package permissions

import (
	"github.com/choreo-bus/choreo/topic"
)

// Role is a part a service plays, one row of Table.
type Role string

// The roles of Table.
const (
	// RoleBase: every service (connecting, replies).
	RoleBase Role = "base"
	// RoleSender: a service that sends a command.
	RoleSender Role = "sender"
	// RolePublisher: a service that publishes an event.
	RolePublisher Role = "publisher"
	// RoleHandler: the handler group of a command.
	RoleHandler Role = "handler"
	// RoleSubscriber: a subscriber group of an event.
	RoleSubscriber Role = "subscriber"
	// RoleDeadLetters: a handler or subscriber group parking its own dead
	// letters.
	RoleDeadLetters Role = "dead letters"
	// RoleAdvisories: a handler or subscriber group turning its own
	// max-deliveries advisories into dead letters.
	RoleAdvisories Role = "advisory converter"
	// RoleDeadLetterReader: a handler or subscriber group reading its own
	// dead letters (bus.DeadLetters with a Consumer filter).
	RoleDeadLetterReader Role = "dead-letter reader"
	// RoleInbox: a service with an idempotency inbox (catalog "inbox:
	// true") in its own key-value bucket.
	RoleInbox Role = "inbox"
)

// Target is what one row is applied to: a service, and for topic roles the
// topic with its wire names, for the inbox its bucket.
type Target struct {
	Namespace string
	Service   string
	Kind      topic.Kind
	Topic     topic.Name // zero for RoleBase and RoleInbox
	Subject   string     // the topic's wire subject
	Stream    string     // the topic's stream
	Consumer  string     // the group's consumer, for group roles
	Bucket    string     // the inbox bucket, for RoleInbox
}

// Grant is what a row allows.
type Grant struct {
	Publish   []string
	Subscribe []string
}

// Row is one role and the subjects it needs.
type Row struct {
	Role Role
	// Why says what the bus does with the grant, for the generated
	// comments and the documentation.
	Why string
	// Grant computes the subjects for one target.
	Grant func(t Target) Grant
}

// jsAPI is the JetStream API subject prefix (no domain).
const jsAPI = "$JS.API."

// Table is every role and what it needs: the single place that says which
// NATS subjects a choreo service uses. Rows are applied per service
// (RoleBase, RoleInbox), per topic the service sends or publishes, and per
// group (handles, subscribes) for the group roles.
var Table = []Row{
	{RoleBase, "connect (the JetStream account check) and receive replies on its own inbox prefix", func(t Target) Grant {
		return Grant{
			Publish:   []string{jsAPI + "INFO"},
			Subscribe: []string{topic.InboxPrefix(t.Namespace, t.Service) + ".>"},
		}
	}},
	{RoleSender, "send the command and look its stream up", producer},
	{RolePublisher, "publish the event and look its stream up", producer},
	{RoleHandler, "pull and settle its commands; remove a command it parked after its handler crashed (work queues keep them)", func(t Target) Grant {
		g := group(t)
		g.Publish = append(g.Publish, jsAPI+"STREAM.MSG.DELETE."+t.Stream)
		return g
	}},
	{RoleSubscriber, "pull and settle its events; check that a Choreo-Redeliver-To header names another group's consumer", func(t Target) Grant {
		g := group(t)
		g.Publish = append(g.Publish, jsAPI+"CONSUMER.INFO."+t.Stream+".*")
		return g
	}},
	{RoleDeadLetters, "park the messages its group gave up on, under its own consumer's subject only", func(t Target) Grant {
		return Grant{Publish: []string{
			topic.DeadLetterSubject(t.Namespace, t.Stream, t.Consumer),
			jsAPI + "STREAM.INFO." + topic.DeadLetterStream(t.Namespace),
		}}
	}},
	{RoleAdvisories, "read its own consumer's max-deliveries advisories and verify each against the original message", func(t Target) Grant {
		as := topic.AdvisoryStream(t.Stream)
		ac := topic.AdvisoryConsumer(t.Consumer)
		return Grant{Publish: []string{
			jsAPI + "STREAM.INFO." + as,
			jsAPI + "CONSUMER.INFO." + as + "." + ac,
			jsAPI + "CONSUMER.MSG.NEXT." + as + "." + ac,
			"$JS.ACK." + as + "." + ac + ".>",
			jsAPI + "STREAM.MSG.GET." + t.Stream,
		}}
	}},
	{RoleDeadLetterReader, "read its own consumer's dead letters through a short-lived consumer filtered on them", func(t Target) Grant {
		dlq := topic.DeadLetterStream(t.Namespace)
		return Grant{Publish: []string{
			jsAPI + "CONSUMER.CREATE." + dlq + ".*." + topic.DeadLetterSubject(t.Namespace, "*", t.Consumer),
			jsAPI + "CONSUMER.MSG.NEXT." + dlq + ".*",
			jsAPI + "CONSUMER.DELETE." + dlq + ".*",
		}}
	}},
	{RoleInbox, "claim, complete and read the records of its own idempotency inbox bucket", func(t Target) Grant {
		kv := "KV_" + t.Bucket
		return Grant{Publish: []string{
			"$KV." + t.Bucket + ".>",
			jsAPI + "STREAM.INFO." + kv,
			// A bucket allows direct gets; the store reads a key's last
			// record by subject, the form with the subject in the request's.
			jsAPI + "DIRECT.GET." + kv + ".>",
		}}
	}},
}

// producer is what a sender or publisher needs for one topic.
func producer(t Target) Grant {
	return Grant{Publish: []string{t.Subject, jsAPI + "STREAM.INFO." + t.Stream}}
}

// group is what a handler or subscriber group needs for its consumer.
func group(t Target) Grant {
	return Grant{Publish: []string{
		jsAPI + "STREAM.INFO." + t.Stream,
		jsAPI + "CONSUMER.INFO." + t.Stream + "." + t.Consumer,
		jsAPI + "CONSUMER.MSG.NEXT." + t.Stream + "." + t.Consumer,
		"$JS.ACK." + t.Stream + "." + t.Consumer + ".>",
	}}
}
