// Package envelope is choreo's CloudEvents 1.0 envelope: the attributes every
// message carries (ID, source, type, time, correlation and causation IDs,
// extensions such as the W3C traceparent), how they are written onto a NATS
// message, and how they are read back from one.
//
// # Wire format
//
// [Write] uses binary content mode of the CloudEvents NATS protocol binding
// (version 1.0.3, which added binary mode for NATS 2.2 headers): each
// attribute is its own header named "ce-" + attribute name, and the payload
// is the data, untouched. A typical choreo event:
//
//	ce-specversion: 1.0
//	ce-id: 0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e
//	ce-source: signup-service
//	ce-type: v1.user.signedup
//	ce-time: 2025-03-14T15:09:26.535897Z
//	ce-datacontenttype: application/json
//	ce-correlationid: 0190f8f0-7c4d-7000-8000-000000000001
//	ce-traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//	Nats-Msg-Id: signup-service 0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e
//
//	{"user_id":"u-1842", ...}
//
// Nats-Msg-Id is the source and the ID (see [MsgID]) so that JetStream
// drops a publish of the same event it has seen within the stream's
// duplicate window: a retried publish never makes a second message, and
// another producer's event with the same ID is never dropped. IDs come
// from [NewID]: UUIDv7, time-ordered.
//
// Times are written in UTC with time.RFC3339Nano (sub-second digits as the
// value has them, trailing zeros dropped) and read back in UTC.
//
// # Content type
//
// The NATS binding maps datacontenttype like every other attribute, to
// ce-datacontenttype; it gives Content-Type a different job: a Content-Type
// starting with "application/cloudevents" marks a structured-mode message,
// anything else (or none) binary mode. Write therefore sets
// ce-datacontenttype only, and removes any Content-Type a reused message
// carries. (The HTTP binding maps datacontenttype to Content-Type instead,
// and sdk-go's NATS JetStream binding reads a "content-type" header that
// way; for producers that send it so, Read takes a plain Content-Type, as
// it is, for the data content type when ce-datacontenttype is absent.)
//
// # Header values
//
// What Write sends: every ce- value percent-encoded as the binding
// requires: space, '"', '%' and every byte outside printable ASCII
// (U+0021..U+007E), the latter as the upper-case hex of their UTF-8 bytes,
// so "Zoë Müller" is sent as "Zo%C3%AB%20M%C3%BCller" and "100%" as
// "100%25". Every other byte is sent as it is; values that need no
// encoding, which is nearly all of them, are used without allocating.
//
// What Read accepts: header names match in any letter case (nats.go keeps
// names as sent, so CE-ID, Ce-Id and ce-id are all found; choreo's own
// lower-case names hit the fast path). Each ce- value then goes through
// these steps, in order:
//
//  1. Spaces and tabs around it are trimmed.
//  2. A value in double quotes that is a valid quoted-string (inner '"' and
//     '\' escaped with a backslash) is unquoted. Any other value, including
//     one that starts and ends with '"' but is no valid quoted-string, is
//     kept as it is.
//  3. If the value holds a '%', every '%' is followed by two hex digits (of
//     either case) and the bytes the escapes stand for make valid UTF-8
//     together with the rest of the value, the value is percent-decoded,
//     once ("%2541" gives "%41"; needless escapes such as "%41" are fine).
//     Otherwise the value is taken literally: "100%", "sübject 100%",
//     "%G1", "caf%C3" and "%C0%A0" (overlong UTF-8) arrive as written.
//  4. The result must be a CloudEvents string: valid UTF-8 without control
//     characters (U+0000..U+001F, U+007F..U+009F) or Unicode
//     noncharacters, at most [MaxValueBytes] long. A value failing this is
//     refused, whether it arrived that way or was percent-decoded to it: a
//     raw 0xFF byte, a raw tab inside, "a%0Ab".
//
// So a value is decoded exactly when it is a valid percent-encoding, and
// raw UTF-8 is accepted as it is: strict in what we send, lenient in what
// we accept. This is for the CloudEvents SDKs, which send values raw:
// sdk-go's NATS JetStream binding (v2.16.2, tested in package cesdk)
// writes "sübject 100%" as those bytes. The one value such a producer
// sends that reads differently is a raw value that happens to be a valid
// percent-encoding: "50%25 off" arrives as "50% off". Whatever Read
// accepts, Write writes back so that it reads the same; the fuzz test
// holds the two to that.
//
// The other way round, sdk-go's receivers do not percent-decode: a choreo
// value that needed encoding reaches them encoded, as "Zo%C3%AB%20M%C3%BCller".
// Values of printable ASCII without space, '"' or '%' are read alike by
// everyone.
//
// # Strictness
//
// Anything that is not a valid CloudEvent 1.0 is refused with an error
// matching [ErrMalformed] that names the attribute at fault: no headers, a
// missing or empty id, source or type, a specversion other than "1.0", an
// attribute given twice (two headers differing in letter case, or two
// values), a time that is not RFC 3339, an extension name outside a-z0-9,
// a value that is no CloudEvents string (step 4 above), broken JSON. Errors
// begin with "choreo/envelope: " and quote at most a clipped piece of what
// was received.
//
// Source and dataschema are carried as opaque strings: checking them as URI
// references would cost every message a URL parse. Package cesdk's ToEvent
// reports the values sdk-go cannot parse.
//
// # Limits
//
// The CloudEvents spec sets no limit on one attribute; it expects every
// consumer to accept events of up to 64 KB in all. NATS sets none either:
// headers and payload together must fit the server's max_payload (1 MiB by
// default). Write refuses, and Read refuses in both modes, with the limit
// named in the error:
//
//   - more than [MaxExtensions] (128) extension attributes besides
//     correlationid and causationid;
//   - an attribute value longer than [MaxValueBytes] (65536) bytes of UTF-8,
//     counted before percent-encoding (after decoding);
//   - an extension name longer than [MaxExtensionNameBytes] (64) bytes.
//
// Read's cost grows linearly with the number of headers: the extension
// count is checked before any per-extension work, and the extensions of a
// valid message are decoded in one pass (only a faulty set is sorted, to
// report the same fault whatever the header map's order).
//
// # Extensions
//
// correlationid and causationid have their own fields; every other extension
// (traceparent included) is in Envelope.Extensions as a string. A
// correlation id equal to the event's ID is not written (the first message
// of a chain is its own correlation), and Read, in both modes, gives an
// event without ce-correlationid its ID as CorrelationID; the longer form,
// with the header, reads the same. Names must be
// lower-case ASCII letters and digits; longer than the 20 characters the
// spec recommends is allowed, up to [MaxExtensionNameBytes]. In structured mode, boolean and integer
// extension values are turned into their canonical strings ("true", "42").
//
// # Structured mode
//
// [Read] also decodes structured mode: Content-Type
// application/cloudevents+json (parameters such as charset allowed; a bare
// application/cloudevents is taken as JSON, the one format the binding
// requires) with the JSON event format in the payload. "data_base64" is
// decoded; "data" is kept as raw JSON text when datacontenttype declares
// JSON (subtype json or a +json suffix) and, when datacontenttype is absent,
// the implied application/json is filled in; for other types "data" must be
// a JSON string and its content is the data. Batch mode, which the NATS
// binding does not define, is refused. Write never produces structured
// mode.
//
// # sdk-go
//
// The subpackage envelope/cesdk converts to and from the CloudEvents Go
// SDK's event.Event without losing an attribute or extension, for code
// that uses its formats or protocols. This package does not import sdk-go,
// so programs that do not convert do not link it.
//
// # Performance
//
// Measured with
//
//	go test -c -o env.test ./envelope/ && go test -c -o cesdk.test ./envelope/cesdk/
//	for i in $(seq 10); do ./env.test -test.run=NONE -test.bench=. -test.benchmem; ./cesdk.test -test.run=NONE -test.bench=. -test.benchmem; done
//
// on a shared 2-core Intel Xeon VM (nproc 2), go1.26.8 linux/amd64, for
// the typical event above (five attributes, two extensions, a 100-byte JSON
// payload). Other work kept the load average between 4 and 10, so both the
// least-disturbed run ("best") and the median of the 10 interleaved runs
// are given. (An earlier idle-machine run, before the limits and lenient
// decoding, gave Write 0.8 us and Read 0.6 us with the same allocations.)
// The SDK
// rows, in package cesdk, do the same through sdk-go v2.16.2's NATS
// JetStream protocol binding: its WriteMsg, and its Message with
// binding.ToEvent plus Validate (since Read validates). It writes values
// raw and sets no Nats-Msg-Id, so it has less to do.
//
//	benchmark                 best ns/op  median ns/op  B/op  allocs/op
//	BenchmarkWrite                  2622          3321   968          6
//	BenchmarkRead                   1541          2520   528          3
//	BenchmarkSDKBindingWrite       10230         17183  3360         52
//	BenchmarkSDKBindingRead         5632          8406  1400         22
//
// BenchmarkReadManyExtensions reads messages with 16 and with
// MaxExtensions (128) extension headers: 6.5 us and 43 us at best under the
// same load, allocations growing with the extensions map only.
//
// Most of Write's cost is the nats.Header map itself (nine headers need more
// than one map group); header value slices share one allocation. Read
// allocates the Envelope and, when there are extensions, their map; values
// that need no decoding are substrings of the received headers. Data is
// shared with the message in both directions, never copied.
//
// # Concurrency
//
// Write modifies the message it is given and nothing else; Read only reads
// its message; NewID and Validate are safe for concurrent use. The package
// has no mutable state.
package envelope
