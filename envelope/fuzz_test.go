package envelope_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// FuzzRead feeds Read arbitrary headers and payloads. headers is a list of
// lines "name: value" separated by '\n' (a line without ':' is a name with
// an empty value); repeated names add values, as on the wire.
//
// Properties: Read never panics; its errors match ErrMalformed and carry
// the package prefix once; whatever it accepts, Validate and Write accept
// (values Read took literally included), and reading the re-written
// message gives an equal Envelope.
func FuzzRead(f *testing.F) {
	seeds := []struct{ headers, body string }{
		{"ce-specversion: 1.0\nce-id: 1\nce-source: s\nce-type: t", ""},
		{"ce-specversion: 1.0\nce-id: 0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e\nce-source: signup-service\n" +
			"ce-type: v1.user.signedup\nce-time: 2025-03-14T15:09:26.535897Z\nce-datacontenttype: application/json\n" +
			"ce-correlationid: c-1\nce-traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n" +
			"Nats-Msg-Id: 0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e", `{"user_id":"u-1"}`},
		{"CE-SPECVERSION: 1.0\nCe-Id: \"A-1\"\nce-Source: /caf%C3%A9\nCE-type: t\nCe-Time: 2018-04-05T19:31:00+02:00\n" +
			"Ce-Subject: \"a \\\"b\\\"\"\nContent-Type: text/plain\nce-ext1: v%20w", "hello"},
		{"ce-specversion: 1.0\nce-id: a%C0%A0\nce-source: s\nce-type: t", ""},
		{"ce-specversion: 1.0\nce-id: a%4\nce-source: s\nce-type: t\nce-id: b", ""},
		{"ce-specversion: 0.3\nce-id: 1\nce-source: s\nce-type: t\nce-time: never", ""},
		{"Content-Type: application/cloudevents+json",
			`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2018-04-05T17:31:00Z","ext":5,"flag":true,"data":{"a":1}}`},
		{"content-type: application/cloudevents+json; charset=utf-8",
			`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data_base64":"aGk="}`},
		{"Content-Type: application/cloudevents",
			`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/xml","data":"<a/>"}`},
		{"Content-Type: application/cloudevents+json", `{"specversion":"1.0",`},
		{"", `{"specversion":"1.0","id":"1","source":"s","type":"t"}`},
		// Values as sdk-go and the JavaScript SDK send them: raw.
		{"ce-specversion: 1.0\nce-id: 1\nce-source: /café\nce-type: t\nce-subject: sübject 100%\nce-x: %C0%A0", ""},
		{"ce-specversion: 1.0\nce-id: \"a\"b\"\nce-source: s\nce-type: t\nce-x: \"100%\"\nce-y: 50%25 off %", ""},
	}
	for _, s := range seeds {
		f.Add(s.headers, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, headers string, body []byte) {
		var h nats.Header
		if headers != "" {
			h = nats.Header{}
			for line := range strings.SplitSeq(headers, "\n") {
				name, value, _ := strings.Cut(line, ":")
				h[name] = append(h[name], strings.TrimPrefix(value, " "))
			}
		}
		e, err := envelope.Read(h, body)
		if err != nil {
			require.ErrorIs(t, err, envelope.ErrMalformed)
			require.True(t, strings.HasPrefix(err.Error(), "choreo/envelope: "), "error %q", err)
			require.Equal(t, 1, strings.Count(err.Error(), "choreo/"), "error %q", err)
			require.Nil(t, e)
			return
		}
		require.NotEmpty(t, e.ID)
		require.NotEmpty(t, e.Source)
		require.NotEmpty(t, e.Type)
		require.NoError(t, e.Validate())

		again := nats.NewMsg("fuzz")
		require.NoError(t, envelope.Write(again, e), "Read accepted %+v but Write refuses it", e)
		back, err := envelope.Read(again.Header, again.Data)
		require.NoError(t, err, "re-written headers %v", again.Header)
		require.Equal(t, e, back)
	})
}
