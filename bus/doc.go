// Package bus lets services send commands and publish events through NATS
// JetStream, and handle them with typed handlers that retry with back-off
// and end in a dead-letter stream.
//
// # Commands and events
//
// A command ("v1.user.signup": do this) goes to exactly one handling
// service; every instance of that service shares one durable consumer, so
// each command is handled once. An event ("v1.user.signedup": this
// happened) goes to every subscriber group; the instances of one group
// share the group's consumer. Topics are typed (topic.Command[T],
// topic.Event[T]), so sending an event as a command does not compile.
//
//	b, err := bus.Connect(ctx, "nats://localhost:4222", bus.WithSource("accounts"))
//	...
//	sub, err := bus.HandleCommand(ctx, b, signup, func(ctx context.Context, m *bus.Message[Signup]) error {
//		// ... create the user ...
//		_, err := bus.Publish(ctx, b, signedUp, SignedUp{UserID: id}) // ctx continues the chain
//		return err
//	})
//
// # Delivery and outcomes
//
// Delivery is at least once. The handler's return value decides what
// happens to the message: nil acknowledges it; an error redelivers it after
// the subscription's back-off (WithBackoff; the server holds it, so a
// failing handler does not spin); RetryAfter(err, d) redelivers after d;
// Permanent(err) dead-letters it at once; a failure on the last attempt
// (WithMaxDeliver) dead-letters it. Messages that are not CloudEvents, or
// whose payload does not decode into the handler's type, are dead-lettered
// on arrival and never reach the handler. A panic in a handler is recovered,
// logged with its stack, and treated as an error.
//
// Dead letters keep the original headers and body plus why they failed.
// Bus.DeadLetters lists them; Bus.Redeliver puts one back in front of the
// group that gave up on it (and no other). When a handler could not report
// at all (the process crashed on the last attempt) the server's
// max-deliveries advisory is captured and turned into a dead letter too.
//
// # Order and flow control
//
// A default subscription promises no order: a failed message is
// redelivered after its back-off, behind messages that arrived meanwhile,
// and instances and workers run in parallel. WithOrdered handles the
// messages of one key (the CloudEvents subject, or WithOrderKey's) one at
// a time in publish order across every instance of the group, retrying a
// failure in place so that only its key waits; the server pins the group
// to one instance at a time, the others standing by.
//
// WithCircuitBreaker pauses a whole group (its consumer, on the server, so
// every instance stops) after consecutive failures, tries one message
// after each cool-down and resumes when it succeeds; messages waiting
// meanwhile use none of their attempts. Bus.Status reports the pause.
//
// # Idempotent handlers
//
// Because delivery is at least once, a handler must tolerate seeing a
// message again. Two habits cover most cases. Inside a handler, publish
// with an id derived from the incoming message (WithID(m.Envelope.ID +
// "/signedup"), or an id stored with the handler's own state), so that a
// redelivered message re-publishes the same event and the stream's
// duplicate window drops the copy. And wrap handlers with side effects in
// the idempotency package's middleware, which records handled keys in a
// store shared by every instance.
//
// # Middleware
//
// Middleware wraps the untyped core, HandlerFunc, which sees a *Delivery.
// Bus-wide middleware (WithMiddleware) wraps per-handler middleware (Use);
// in each list the first is the outermost, like layers of an onion:
//
//	WithMiddleware(A, B) + Use(C)  =>  A → B → C → handler → C → B → A
//
// # Correlation
//
// Every message is a CloudEvent with a UUIDv7 id. The first message of a
// chain gets its own id as correlation id; a message sent with a handler's
// ctx copies the incoming correlation id and takes the incoming id as its
// causation id, so one correlation id follows a whole choreography.
//
// # Time and flow
//
// WithDelay and WithDeliverAt have the server deliver a message later
// (nats-server's message schedules), surviving restarts of every service
// and of the server. SendAndAwait and SendAndAwaitAny send a command and
// wait for the event that ends its correlation chain, for callers at the
// edge of the system (an HTTP request), not for services inside a
// choreography. WithRateLimit bounds how often an instance starts a
// subscription's handler, keeping the waiting messages on the server.
//
// # Wire format and provisioning
//
// Subjects are "[namespace.]cmd.<topic>" and "[namespace.]evt.<topic>".
// Streams are created on first use, one per kind and entity ("CMD_user"
// with work-queue retention, "EVT_user" with limits retention and a max
// age), with file storage and a duplicate window: the Nats-Msg-Id of every
// message is its CloudEvents source and id, so a retried publish is stored
// once.
// Stream and consumer handles are cached; publishing and delivery make no
// extra round trips. A stream or consumer that exists with settings that
// cannot change in place is an ErrIncompatible error naming the setting.
//
// On a secured cluster an operator provisions instead (Provision, or
// `choreo provision` from the catalog), and services run
// WithoutProvisioning: they look streams and consumers up, never create
// or change them, and a subscription fails at start with an
// ErrNotProvisioned error naming everything missing. Each subscription
// turns its own consumer's max-deliveries advisories into dead letters, so
// a service needs the right to write its own consumers' dead letters only
// (`choreo gen permissions` derives the rest).
//
// # Publishing many messages
//
// Publish and Send wait for the broker per message. PublishAsync and
// SendAsync pipeline publishes and report through a Future (or Flush).
// PublishBatch and SendBatch (nats-server 2.14 or newer) publish the
// messages of one topic as a fast-ingest batch: the server stores each as
// it arrives and acknowledges every few hundred, and Commit returns once
// all are stored. A batch is not atomic; an interrupted one reports how
// many messages are stored (BatchError), and publishing the rest again
// under their ids stores each once.
//
// # Prepared messages
//
// Prepare builds a message exactly as Send or Publish would (id, codec,
// correlation and causation from ctx, options, Publish hooks) without
// contacting the broker, and PublishPrepared (or PublishPreparedAsync)
// writes such a message later, as it was built, keeping its id and so its
// Nats-Msg-Id. It is the seam of the transactional outbox (package outbox),
// which stores prepared messages in the caller's database transaction and
// relays them once it commits.
//
// # Shutdown
//
// Close stops new work (every call then fails with ErrClosed), drains the
// subscriptions so that in-flight handlers finish, flushes asynchronous
// publishes and closes the connection. Every goroutine the bus starts is
// owned by the Bus or a Subscription and ends with them.
//
// Bus, Subscription and Future are safe for concurrent use.
package bus
