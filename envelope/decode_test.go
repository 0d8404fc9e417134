package envelope_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// Decoding accepts what other producers may send: lower-case hex,
// characters encoded without need, raw spaces inside quotes (older binding
// versions), raw UTF-8, and values that are no valid percent-encoding,
// taken as they are. Whatever Read accepts, Write writes so that it reads
// back the same.
func TestReadPercentDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, wire, value string
	}{
		{"upper-case hex", "caf%C3%A9", "café"},
		{"lower-case hex", "caf%c3%a9", "café"},
		{"unnecessary escapes", "%41%42C", "ABC"},
		{"encoded percent stays literal after one round", "%2541", "%41"},
		{"quoted with raw spaces", `"hello world"`, "hello world"},
		{"quoted with escapes", `"a \"b\" \\ c"`, `a "b" \ c`},
		{"quoted then percent-decoded", `"caf%C3%A9 %22x%22"`, `café "x"`},
		{"one quote is not a quoted string", `"`, `"`},
		{"unbalanced quote kept", `"abc`, `"abc`},
		{"optional whitespace trimmed", "\t value \t", "value"},
		{"raw utf-8", "café", "café"},
		{"four-byte", "%F0%9F%98%80", "😀"},

		// Not a valid percent-encoding, so taken literally: what sdk-go's
		// NATS JetStream binding and the JavaScript SDK send.
		{"raw percent sign", "100%", "100%"},
		{"the sdk-go subject of the issue", "sübject 100%", "sübject 100%"},
		{"truncated escape", "abc%4", "abc%4"},
		{"non-hex escape", "%G1", "%G1"},
		{"percent then raw utf-8", "%é", "%é"},
		{"escape of an overlong sequence", "a%C0%A0b", "a%C0%A0b"},
		{"escape of a lone continuation byte", "%80", "%80"},
		{"escape of a truncated sequence", "caf%C3", "caf%C3"},
		{"one good escape does not save a bad one", "%41%4", "%41%4"},
		{"unescaped quote inside quotes", `"a"b"`, `"a"b"`},
		{"quote escaped away", `"ab\"`, `"ab\"`},
		{"invalid quotes around an invalid escape", `"a"100%"`, `"a"100%"`},
		{"valid quotes around an invalid escape", `"100%"`, "100%"},

		// A raw value that happens to be a valid encoding is decoded:
		// the one case where a raw producer's value changes.
		{"raw value that is a valid encoding", "50%25 off", "50% off"},
		{"raw utf-8 beside a valid escape", "sübject %41", "sübject A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &nats.Msg{Header: nats.Header{
				"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"},
				"ce-subject": {tc.wire},
			}}
			got, err := envelope.Read(m.Header, m.Data)
			require.NoError(t, err)
			assert.Equal(t, tc.value, got.Subject)

			_, back := roundTrip(t, got)
			assert.Equal(t, tc.value, back.Subject)
		})
	}
}
