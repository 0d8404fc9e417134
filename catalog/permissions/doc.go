// Package permissions derives from a topic catalog the NATS permissions
// each service needs and nothing more: the subjects it may publish on
// (its own topics, the JetStream API requests the bus really makes for its
// own streams and consumers, the acknowledgements of its own consumers, the
// dead letters of its own consumers, the key-value subjects of its own
// inbox bucket) and the subjects it may subscribe to (its own reply inbox).
//
// The derivation is one table (Table): each row is a role a service can
// have (base, sender, publisher, handler, subscriber, dead letters,
// advisory converter, dead-letter reader, inbox) and the subjects that role
// needs for one topic, consumer or bucket, computed from the wire names of
// package topic. A feature that makes the bus call the server in a new way
// adds a row, and every generated configuration follows.
//
// Derive computes the users of a catalog; NATSConf renders them as a
// nats-server authorization block and JSON for other tooling (nsc). The
// permissions assume services run with bus.WithoutProvisioning (streams and
// consumers made by `choreo provision`) and connect with their own inbox
// prefix, nats.CustomInboxPrefix(topic.InboxPrefix(ns, service)).
package permissions
