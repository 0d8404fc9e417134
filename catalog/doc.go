// Package catalog reads a choreo topic catalog, checks it, and generates Go
// code, AsyncAPI 3.0.0 documents and graphs from it. The choreo command
// (cmd/choreo) is a thin shell around this package.
//
// # The catalog file
//
// A catalog is one YAML file listing every topic of a system and, optionally,
// which service takes which part in each:
//
//	version: 1                 # catalog format version; must be 1
//	package: topics            # Go package of generated code (default: topics)
//	topics:
//	  v1.user.signup:
//	    kind: command          # optional: inferred from the verb's tense;
//	                           # required when the verb reads the same in both (reset)
//	    description: Create a user account.
//	    payload:               # fields, in the order of the generated struct
//	      email: string
//	      name: {type: string, description: Display name.}
//	  v1.user.signedup:
//	    description: A user account was created.
//	    payload:
//	      user_id: string
//	      signed_up_at: time
//	  v1.user.imported:
//	    type: example.com/legacy/users.Record   # an existing Go type instead of payload
//	services:
//	  web:      {sends: [v1.user.signup]}
//	  accounts: {handles: [v1.user.signup], publishes: [v1.user.signedup]}
//	  email:    {subscribes: [v1.user.signedup]}
//
// Topic keys: kind (command or event), description, payload (a mapping
// from field name to type, or to {type, description}), type (an existing
// Go type "import/path.Name", or "Name" for a type declared in the
// generated package; exclusive with payload) and skip_tense_check. A topic
// with neither payload nor type has an empty payload (struct{}).
//
// The tense rules (see package topic) know some 880 verbs and the forms
// built from them. A known verb in the wrong tense for the declared kind
// is an error, as it is at run time: v1.user.signup declared as an event.
// A word they do not know (a state such as v1.stock.low, or a verb missing
// from their lists) passes at run time, and lint warns that it cannot
// check it, suggesting the other tense where the spelling gives one.
// skip_tense_check: true vouches for the verb: it lets a known verb the
// rules misread through (v1.app.startup, a noun, declared as an event; the
// generated topic then passes topic.SkipTenseCheck()) and silences the
// warning about an unknown word. Where it changes nothing, lint says so.
//
// Service keys: sends (commands it sends), handles (commands it carries
// out; each command has exactly one handler), publishes (events it
// announces), subscribes (events it reacts to), description, and inbox
// (true when the service keeps an idempotency inbox in its own key-value
// bucket, topic.InboxBucket: `choreo provision` creates it and `choreo gen
// permissions` grants the service, and only it, its subjects).
//
// Field types: string int int32 int64 float64 bool time bytes uuid; []T and
// map[string]T of those; and T? for an optional field. In Go they are the
// same names except time (time.Time), bytes ([]byte) and uuid
// (github.com/google/uuid.UUID, which checks the value when decoding); an
// optional single value is a pointer, and every optional field is
// omitempty. Field keys are the JSON names; Go names are their CamelCase
// form with Go initialisms (user_id -> UserID, avatar_url -> AvatarURL).
//
// # Checking
//
// Parse and Load check the file's size, characters and shape and report
// problems as "file:line: message" in an error matching ErrInvalid. Lint checks the
// content (the Rule constants list every rule), Breaking compares a catalog
// with an older version of itself, and Validate runs the rules the Go
// generator depends on.
//
// # Limits and hostile input
//
// A catalog is input anyone with write access to a repository can change,
// so Parse treats it as untrusted. A file may be at most MaxFileSize
// (1 MiB), and with its YAML aliases (*name) expanded it may hold at most
// MaxNodes (100,000) nodes and MaxTextSize (1 MiB) of text: aliases are
// allowed, to share a payload between versions, but cannot make a small
// file stand for a huge catalog. An alias inside the node it names is
// refused. The errors match ErrTooLarge and name the limit.
//
// No string of a catalog, and no byte of the file, may be a control
// character (tab and line feed are fine in descriptions, CRLF line ends
// are fine), a bidirectional control (U+202A-U+202E, U+2066-U+2069,
// U+200E, U+200F, U+061C: Trojan Source), a line or paragraph separator
// (U+2028, U+2029, U+0085), or a byte-order mark other than one at the
// very start of the file (RuleCharacter, with line and column). The
// generators escape any such character that still reaches them in a
// Catalog built by hand, quote a file name that holds one, and stay within
// MaxOutputSize; Diagnostic.String prints one line whatever the file name
// or message holds.
//
// # Generating
//
// GenerateGo writes constants (TopicUserSignupV1), payload structs
// (UserSignupV1) and typed topics (UserSignupV1Command,
// UserSignedupV1Event); GenerateAsyncAPI writes an AsyncAPI 3.0.0 document
// for one service; GenerateGraph draws a Mermaid or Graphviz graph. Output
// depends only on the catalog: topics are sorted by name, payload fields
// keep the order of the file, and nothing depends on map order, the clock
// or the machine, so generated files can be committed and checked for
// drift.
//
// Every function in this package is safe for concurrent use; a Catalog is
// never modified after parsing.
package catalog
