package envelope_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// The benchmarks encode and decode typical(): id, source, type, time and
// datacontenttype, two extensions (correlationid, traceparent), a 100-byte
// JSON payload; plus Nats-Msg-Id. Package cesdk's benchmarks do the same
// work through sdk-go's NATS JetStream protocol binding, for comparison.

const benchSubject = "evt.v1.user.signedup"

func BenchmarkWrite(b *testing.B) {
	e := typical()
	b.ReportAllocs()
	for b.Loop() {
		m := &nats.Msg{Subject: benchSubject}
		if err := envelope.Write(m, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	m := &nats.Msg{Subject: benchSubject}
	require.NoError(b, envelope.Write(m, typical()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Read(m.Header, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}
