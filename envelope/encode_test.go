package envelope_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// Percent-encoding of header values as the NATS binding specifies: space,
// double quote, percent and everything outside printable ASCII, as the
// upper-case hex of their UTF-8 bytes; every other printable character as
// it is.
func TestWritePercentEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value, wire string
	}{
		{"plain", "v1.user.signedup", "v1.user.signedup"},
		{"all printable except the three", "!#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", "!#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"},
		{"space", "a b", "a%20b"},
		{"double quote", `say "hi"`, "say%20%22hi%22"},
		{"percent", "100%", "100%25"},
		{"already encoded-looking", "%41", "%2541"},
		{"two-byte", "café", "caf%C3%A9"},
		{"spec example", "Euro € 😀", "Euro%20%E2%82%AC%20%F0%9F%98%80"},
		{"leading and trailing space", " x ", "%20x%20"},
		{"DEL-free high plane", "\U0010FFFD", "%F4%8F%BF%BD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := &envelope.Envelope{ID: "1", Source: "s", Type: "t", Subject: tc.value,
				Extensions: map[string]string{"ext": tc.value}}
			m := nats.NewMsg("x")
			require.NoError(t, envelope.Write(m, e))
			assert.Equal(t, tc.wire, m.Header.Get("ce-subject"))
			assert.Equal(t, tc.wire, m.Header.Get("ce-ext"))
			got, err := envelope.Read(m.Header, m.Data)
			require.NoError(t, err)
			assert.Equal(t, tc.value, got.Subject)
			assert.Equal(t, tc.value, got.Extensions["ext"])
		})
	}
}

// Values needing no encoding cost no allocation beyond the header slices.
func TestWriteFastPathAllocations(t *testing.T) {
	e := typical()
	m := nats.NewMsg("x")
	require.NoError(t, envelope.Write(m, e))
	base := testing.AllocsPerRun(100, func() { _ = envelope.Write(m, e) })

	e2 := typical()
	e2.Subject = strings.Repeat("plain-ascii-", 10)
	with := testing.AllocsPerRun(100, func() { _ = envelope.Write(m, e2) })
	assert.Equal(t, base+0, with, "a plain subject adds a header, not an allocation")

	e3 := typical()
	e3.Subject = "needs encoding"
	assert.Equal(t, base+1, testing.AllocsPerRun(100, func() { _ = envelope.Write(m, e3) }),
		"an encoded value costs exactly its new string")
}
