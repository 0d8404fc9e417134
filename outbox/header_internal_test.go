package outbox

import (
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := nats.Header{
		"ce-id":          {"01a2"},
		"ce-source":      {"accounts"},
		"Nats-Msg-Id":    {"accounts 01a2"},
		"ce-traceparent": {"00-abc-def-01"},
		"multi":          {"a: b", "", "c"},
	}
	b, err := encodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeHeader(b)
	if err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Errorf("round trip gave %v, want %v", got, h)
	}
	for _, bad := range []nats.Header{{"a\r\nb": {"x"}}, {"a:b": {"x"}}, {"": {"x"}}, {"a": {"x\r\ny: z"}}} {
		if _, err := encodeHeader(bad); err == nil {
			t.Errorf("encodeHeader(%q) succeeded; it would store another header", bad)
		}
	}
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add([]byte("NATS/1.0\r\nce-id: 1\r\n\r\n"))
	f.Add([]byte("NATS/1.0\r\n\r\n"))
	f.Add([]byte("NATS/1.0\r\nx\r\n\r\n"))
	f.Add([]byte("NATS/1.0\r\n: v\r\n\r\n"))
	f.Add([]byte("NATS/1.0\r\na: b\r\n\r\ntrailing"))
	f.Add([]byte("{\"ce-id\":[\"1\"]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeader(b)
		if err != nil {
			return
		}
		// What decodes, encodes again and decodes to the same header.
		again, err := encodeHeader(h)
		if err != nil {
			t.Fatalf("decoded %q into %v, which does not encode: %v", b, h, err)
		}
		h2, err := decodeHeader(again)
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("re-encoding %v gave %q, which decodes to %v, %v", h, again, h2, err)
		}
	})
}
