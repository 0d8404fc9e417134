package cesdk_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/envelope/cesdk"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	full := typical()
	full.Subject = "u-1842"
	full.DataSchema = "https://schemas.example.com/signedup.json"
	full.CausationID = "cause-1"
	full.Extensions["tenant"] = "acme"
	tests := map[string]*envelope.Envelope{
		"typical":       typical(),
		"full":          full,
		"minimal":       {ID: "1", Source: "s", Type: "t"},
		"binary data":   {ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 0xff}},
		"json-ish data": {ID: "1", Source: "s", Type: "t", DataContentType: "application/problem+json", Data: []byte(`{"a":1}`)},
		"not-json json": {ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte(`{broken`)},
		"text":          {ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("héllo")},
		"local time":    {ID: "1", Source: "s", Type: "t", Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -7200))},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ev, err := cesdk.ToEvent(in)
			require.NoError(t, err)
			require.NoError(t, ev.Validate())
			assert.Equal(t, event.CloudEventsVersionV1, ev.SpecVersion())
			assert.Equal(t, in.ID, ev.ID())
			assert.Equal(t, in.Source, ev.Source())
			assert.Equal(t, in.Type, ev.Type())
			if in.CorrelationID != "" {
				assert.Equal(t, in.CorrelationID, ev.Extensions()["correlationid"])
			}
			if tp := in.Extensions["traceparent"]; tp != "" {
				assert.Equal(t, tp, ev.Extensions()["traceparent"])
			}

			back, err := cesdk.FromEvent(ev)
			require.NoError(t, err)
			assert.Equal(t, in, back)

			// Through sdk-go's JSON event format and Read's structured mode:
			// the same event, time in UTC.
			m := structuredMsg(t, ev, "application/cloudevents+json")
			viaJSON, err := envelope.Read(m.Header, m.Data)
			require.NoError(t, err)
			want := *in
			want.Time = in.Time.UTC()
			if want.CorrelationID == "" {
				want.CorrelationID = want.ID // Read's default for an absent correlationid
			}
			assert.Equal(t, &want, viaJSON, "json: %s", m.Data)
		})
	}
}

func TestFromEventCanonicalExtensions(t *testing.T) {
	t.Parallel()
	ev := event.New()
	ev.SetID("1")
	ev.SetSource("/s")
	ev.SetType("t")
	ev.SetExtension("count", 42)
	ev.SetExtension("ok", false)
	ev.SetExtension("blob", []byte{1, 2, 3})
	ev.SetExtension("at", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	got, err := cesdk.FromEvent(ev)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"count": "42", "ok": "false", "blob": "AQID", "at": "2025-01-01T00:00:00Z",
	}, got.Extensions)
}

// Errors match envelope.ErrMalformed and name the attribute. Those this
// package makes say "choreo/cesdk: "; a rule of envelope's that the value
// breaks comes back as envelope's own error. No prefix is repeated.
func TestErrors(t *testing.T) {
	t.Parallel()
	event10 := func(id, typ string) event.Event {
		ev := event.New()
		ev.SetID(id)
		ev.SetSource("/s")
		ev.SetType(typ)
		return ev
	}
	tests := []struct {
		name   string
		call   func() error
		attr   string
		prefix string
	}{
		{"ToEvent invalid envelope", func() error {
			_, err := cesdk.ToEvent(&envelope.Envelope{Source: "s", Type: "t"})
			return err
		}, `"id"`, "choreo/envelope: "},
		{"ToEvent sdk rejects relative dataschema", func() error {
			_, err := cesdk.ToEvent(&envelope.Envelope{ID: "1", Source: "s", Type: "t", DataSchema: "relative/path"})
			return err
		}, `"dataschema"`, "choreo/cesdk: "},
		{"FromEvent no context", func() error {
			_, err := cesdk.FromEvent(event.Event{})
			return err
		}, `"specversion"`, "choreo/cesdk: "},
		{"FromEvent v0.3", func() error {
			ev := event.New(event.CloudEventsVersionV03)
			ev.SetID("1")
			ev.SetSource("/s")
			ev.SetType("t")
			_, err := cesdk.FromEvent(ev)
			return err
		}, `"specversion"`, "choreo/cesdk: "},
		{"FromEvent invalid event", func() error {
			_, err := cesdk.FromEvent(event10("", "t"))
			return err
		}, `"id"`, "choreo/cesdk: "},
		{"FromEvent control character", func() error {
			_, err := cesdk.FromEvent(event10("1", "t\x01"))
			return err
		}, `"type"`, "choreo/envelope: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, envelope.ErrMalformed)
			assert.Contains(t, err.Error(), tc.attr)
			assert.True(t, strings.HasPrefix(err.Error(), tc.prefix), "error %q should start with %q", err, tc.prefix)
			assert.Equal(t, 1, strings.Count(err.Error(), "choreo/"), "error %q repeats a prefix", err)
		})
	}
}

// The sdk-go JSON of a converted event uses data_base64 only where embedding
// would change the payload.
func TestToEventDataEncoding(t *testing.T) {
	t.Parallel()
	in := typical()
	ev, err := cesdk.ToEvent(in)
	require.NoError(t, err)
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	var members map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &members))
	assert.JSONEq(t, string(in.Data), string(members["data"]))
	assert.NotContains(t, members, "data_base64")
}
