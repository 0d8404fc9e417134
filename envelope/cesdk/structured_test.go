package cesdk_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// Structured content mode as sdk-go produces it: its JSON event format in
// the payload, read by envelope.Read.

// structuredMsg serializes ev with sdk-go's JSON event format into a NATS
// message in structured content mode.
func structuredMsg(t *testing.T, ev event.Event, contentType string) *nats.Msg {
	t.Helper()
	require.NoError(t, ev.Validate())
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	m := nats.NewMsg("evt.v1.user.signedup")
	m.Header.Set("Content-Type", contentType)
	m.Data = body
	return m
}

func sdkEvent() event.Event {
	ev := event.New()
	ev.SetID("B234-1234-1234")
	ev.SetSource("/mycontext")
	ev.SetType("v1.user.signedup")
	ev.SetSubject("u-1842")
	ev.SetTime(time.Date(2018, 4, 5, 17, 31, 0, 123_000_000, time.UTC))
	ev.SetDataSchema("https://example.com/schema.json")
	ev.SetExtension("correlationid", "corr-1")
	ev.SetExtension("causationid", "cause-1")
	ev.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ev.SetExtension("comexampleothervalue", 5)
	ev.SetExtension("flag", true)
	return ev
}

func TestReadStructuredFromSDK(t *testing.T) {
	t.Parallel()
	want := func(dct string, data []byte) *envelope.Envelope {
		return &envelope.Envelope{
			ID:              "B234-1234-1234",
			Source:          "/mycontext",
			Type:            "v1.user.signedup",
			Subject:         "u-1842",
			Time:            time.Date(2018, 4, 5, 17, 31, 0, 123_000_000, time.UTC),
			DataContentType: dct,
			DataSchema:      "https://example.com/schema.json",
			CorrelationID:   "corr-1",
			CausationID:     "cause-1",
			Extensions: map[string]string{
				"traceparent":          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				"comexampleothervalue": "5",
				"flag":                 "true",
			},
			Data: data,
		}
	}
	tests := []struct {
		name        string
		setData     func(ev *event.Event) error
		contentType string
		want        *envelope.Envelope
	}{
		{
			name: "data as JSON value",
			setData: func(ev *event.Event) error {
				return ev.SetData("application/json", map[string]any{"user_id": "u-1842"})
			},
			contentType: "application/cloudevents+json",
			want:        want("application/json", []byte(`{"user_id":"u-1842"}`)),
		},
		{
			name: "data_base64",
			setData: func(ev *event.Event) error {
				return ev.SetData("application/octet-stream", []byte{0, 1, 2, 0xfe, 0xff})
			},
			contentType: "application/cloudevents+json; charset=utf-8",
			want:        want("application/octet-stream", []byte{0, 1, 2, 0xfe, 0xff}),
		},
		{
			name:        "text data as JSON string",
			setData:     func(ev *event.Event) error { return ev.SetData("text/plain", "héllo \"world\"") },
			contentType: "APPLICATION/CLOUDEVENTS+JSON",
			want:        want("text/plain", []byte("héllo \"world\"")),
		},
		{
			name:        "no data",
			setData:     func(*event.Event) error { return nil },
			contentType: "application/cloudevents+json",
			want:        want("", nil),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := sdkEvent()
			require.NoError(t, tc.setData(&ev))
			m := structuredMsg(t, ev, tc.contentType)
			m.Header.Set("ce-id", "ignored in structured mode")
			got, err := envelope.Read(m.Header, m.Data)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

			// Re-encoded in binary mode it reads back the same.
			again := nats.NewMsg("x")
			require.NoError(t, envelope.Write(again, got))
			back, err := envelope.Read(again.Header, again.Data)
			require.NoError(t, err)
			assert.Equal(t, got, back)
		})
	}
}
