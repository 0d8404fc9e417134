// Package topic names the messages services exchange, checks those names,
// and maps them onto NATS subjects and JetStream streams.
//
// # Names
//
// A topic name has the shape
//
//	v<N>.<entity>[.<qualifier>...].<verb>
//
// for example:
//
//	v1.user.signup            command: sign this user up
//	v1.user.signedup          event: this user signed up
//	v1.user.email.changed     event, with the qualifier "email"
//	v2.invoice.paid           event, second version of its payload
//
// Version comes first. A topic's payload is a contract between services
// that are deployed separately; when it has to change incompatibly, the new
// shape gets a new version (v2.user.signedup) and both versions flow side by
// side until every consumer has moved. Putting the version in the name, not
// in a header, lets each version have its own consumers and its own Go type.
// N is a positive integer without leading zeros, at most MaxVersion.
//
// The entity is the thing the topic is about: user, order, invoice. Streams
// are cut per entity, so everything about one entity shares a stream and
// its retention settings.
//
// Qualifiers, optional, narrow the entity down to a part of it, most
// general first: v1.user.email.changed, v1.account.billing.card.expired.
//
// The verb comes last and its tense tells the kind of message at a glance:
//
//   - A command asks one service to do something. Its verb is in the
//     present tense: v1.user.signup, v1.order.ship, v1.email.send.
//   - An event reports something that has happened; any number of services
//     may react to it. Its verb is in the past tense: v1.user.signedup,
//     v1.order.shipped, v1.email.sent.
//
// NewCommand and NewEvent enforce this where they can be sure, so that a
// name read anywhere (a log line, a dashboard, a dead letter) says which
// kind it is; see Tenses for what they reject and what they let through.
//
// # Grammar
//
// Every segment after the version is lowercase ASCII letters and digits
// and starts with a letter; segments are separated by single dots; there
// are at least three segments (version, entity, verb) and the whole name is
// at most MaxNameLen (128) bytes. These rules buy the following:
//
//   - One spelling per name. No upper case and no separators inside
//     segments: "-" and "_" are rejected, so a multiword verb is written
//     joined (signedup, checkedout, writtenoff) and there is never a doubt
//     whether it was sign-up, sign_up or signUp. Joined words also map
//     straight to Go identifiers and to stream names, where '.' and '-'
//     cause trouble and '_' is the separator choreo uses itself.
//   - Safe subjects. Names never contain the NATS wildcards '*' and '>',
//     white space or empty segments, so a name is always one concrete,
//     valid subject.
//   - Bounded sizes. With the namespace limit (MaxNamespaceLen, 64 bytes),
//     a wire subject is at most 197 bytes and a stream name stays far below
//     JetStream's 255-byte limit on names (they become file names on the
//     server), leaving room for consumer names built from them.
//
// Parse reports the first segment at fault by position, role and text, says
// what is wrong with it and shows a valid name, or the corrected name when
// the fix is obvious (upper case, '-' or '_' in a word, stray dots, a
// version like "V1", "1" or "v01"). Its errors match ErrInvalidName.
//
// # Tenses
//
// The tense check (CheckTense, used by NewCommand and NewEvent) rejects
// only what it is sure of, a verb it knows in the tense of the other kind;
// a word it does not know passes, so that a state named as an event does
// not stop a program at start-up. It reads the verb with word lists and
// explicit rules (TenseOf) and sorts it into one of four classes:
//
//   - Present (TensePresent): a known verb in its base form, or built from
//     one: about 120 irregular verbs common in business systems (send, pay,
//     write, take, ...) and some 720 regular ones (create, ship, cancel,
//     ...); the same behind the prefixes re, un and pre (reopen, unlock),
//     irregular ones behind under, over, fore, out, mis and up too
//     (overpay, underwrite); compounds of such a verb and a particle (up,
//     in, out, off, on, over, back, down: signup, login, checkout, payout);
//     and the -ing forms of all of them (shipping).
//   - Past (TensePast): the past forms of the same verbs: listed irregular
//     forms (sent, paid, written and wrote), the regular -ed form of a known
//     verb (created, stopped, applied; canceled and cancelled, American and
//     British spellings alike), and their prefixed and compound forms
//     (resent, reopened, signedup, checkedout, takenover).
//   - Both (TenseBoth): verbs that read the same in both tenses (reset, put,
//     set, cut, shut, read, quit, hit, cast, broadcast, upset, bid, split,
//     spread, cost, let, and compounds such as setup or shutdown), fine for
//     commands and events alike without any option. InferKind reports them
//     as undecidable.
//   - Unknown (TenseUnknown): every other word. An adjective or noun used
//     as a state (v1.stock.low, v1.order.ready, v1.invoice.overdue,
//     v1.item.outofstock), a verb missing from the lists, and a word whose
//     -ed is not an ending (sled, steed) or whose -ed base is not a known
//     verb.
//
// An event named with a present verb and a command named with a past verb
// are rejected with an error matching ErrTense that suggests the whole
// corrected name: v1.user.signup as an event gets "did you mean
// v1.user.signedup?", v1.invoice.paid as a command gets "did you mean
// v1.invoice.pay?", and v1.order.shipping as an event gets "did you mean
// v1.order.shipped?". Suggestions are always valid names that pass the
// check. Everything else passes, unknown words included, as events and as
// commands: the rules cannot tell a state from a verb they miss.
//
// Unknown words are choreo lint's job: it warns about each one in a
// catalog, with a suggestion from the regular spelling rules where they
// give one (SuggestName: "if low is a verb, did you mean v1.stock.lowed?"),
// until the catalog vouches for the word with skip_tense_check: true.
//
// SkipTenseCheck turns the tense check off, and nothing else (the grammar
// is always enforced), for a known verb the rules misread: a noun that is
// also a verb, such as v1.app.startup named as an event.
//
// # Typed topics
//
// Command[T] and Event[T] bind a checked name to the Go type T of its
// payload. They are distinct types whatever T is: code that expects a
// command does not compile when handed an event, and neither converts into
// the other, nor into a topic of another payload type. Declare them once,
// as package-level variables:
//
//	var (
//		SignUp   = topic.MustCommand[SignUpUser]("v1.user.signup")
//		SignedUp = topic.MustEvent[UserSignedUp]("v1.user.signedup")
//	)
//
// The zero Command or Event has a zero Name (Name().IsZero()), which the
// bus refuses.
//
// # Wire mapping
//
// Subject, Stream and StreamSubjects are the single place where topics meet
// NATS:
//
//	command  subject cmd.v1.user.signup     stream CMD_user  filter cmd.*.user.>
//	event    subject evt.v1.user.signedup   stream EVT_user  filter evt.*.user.>
//
// A namespace (ValidateNamespace) prefixes subjects ("prod.eu.evt.v1...")
// and streams ("prod_eu_EVT_user") to keep environments or tenants apart.
// One stream per namespace, kind and entity covers every version, so adding
// v2 needs no stream change. The segments "cmd", "evt" and "dlq" are reserved in
// namespaces: with that rule no stream's filter can match another
// namespace's subjects, and JetStream never rejects a stream for
// overlapping subjects. ParseSubject turns a wire subject back into a kind
// and a name.
//
// # Concurrency and cost
//
// Every function in the package is safe for concurrent use, and Name,
// Command and Event values are safe to share once built. Parse does not
// allocate for names without qualifiers, String on a parsed name returns the
// parsed text without allocating, and Subject allocates once (about 60 ns
// on the 2-core development machine; see bench_test.go).
package topic
