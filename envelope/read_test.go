package envelope_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// A binary-mode message as another producer might send it: header names in
// several letter cases, a quoted value with backslash escapes, lower-case
// and unnecessary percent-escapes, whitespace around values, an extension
// of its own, and Content-Type carrying the data type (as the HTTP binding
// maps it, and as sdk-go's NATS JetStream binding reads it) next to a
// ce-datacontenttype that wins.
func TestReadForeignBinaryMessage(t *testing.T) {
	t.Parallel()
	m := &nats.Msg{
		Subject: "evt.v1.order.placed",
		Header: nats.Header{
			"CE-SPECVERSION":     {"1.0"},
			"Ce-Id":              {`"A234-1234-1234"`},
			"ce-Source":          {"/caf%C3%A9/orders"},
			"CE-type":            {"v1.order.placed"},
			"Ce-Time":            {"2018-04-05T19:31:00.25+02:00"},
			"Ce-Subject":         {`"order \"42\" for caf%c3%a9"`},
			"ce-datacontenttype": {"application/json; charset=utf-8"},
			"Content-Type":       {"text/plain"},
			"Ce-CorrelationID":   {"corr%2D1  "},
			"CE-CAUSATIONID":     {"cause-1"},
			"Ce-Comexampleext1":  {"value%20with%20spaces%20%E2%82%AC"},
			"X-Other":            {"ignored"},
		},
		Data: []byte(`{"order":42}`),
	}
	got, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	assert.Equal(t, &envelope.Envelope{
		ID:              "A234-1234-1234",
		Source:          "/café/orders",
		Type:            "v1.order.placed",
		Subject:         `order "42" for café`,
		Time:            time.Date(2018, 4, 5, 17, 31, 0, 250_000_000, time.UTC),
		DataContentType: "application/json; charset=utf-8",
		CorrelationID:   "corr-1",
		CausationID:     "cause-1",
		Extensions:      map[string]string{"comexampleext1": "value with spaces €"},
		Data:            []byte(`{"order":42}`),
	}, got)
}

func TestReadContentTypeAsDataContentType(t *testing.T) {
	t.Parallel()
	m := &nats.Msg{Header: nats.Header{
		"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"},
		"content-type": {"application/xml"},
	}, Data: []byte("<a/>")}
	got, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	assert.Equal(t, "application/xml", got.DataContentType)
	assert.Equal(t, []byte("<a/>"), got.Data)
	assert.Nil(t, got.Extensions)

	// Content-Type is no ce- header: it is taken as it is, not percent-decoded.
	m.Header["content-type"] = []string{" application/x-thing; name=a%20b "}
	got, err = envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	assert.Equal(t, "application/x-thing; name=a%20b", got.DataContentType)
}

func TestReadSharesPayload(t *testing.T) {
	t.Parallel()
	m := nats.NewMsg("x")
	require.NoError(t, envelope.Write(m, typical()))
	got, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	require.NotEmpty(t, got.Data)
	assert.Same(t, &m.Data[0], &got.Data[0], "binary-mode Data is the message payload, not a copy")
}

func TestReadMalformed(t *testing.T) {
	t.Parallel()
	valid := func() nats.Header {
		return nats.Header{
			"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"},
			"ce-time": {"2025-01-01T00:00:00Z"},
		}
	}
	with := func(k string, v ...string) nats.Header {
		h := valid()
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	structured := func(body string) *nats.Msg {
		return &nats.Msg{Header: nats.Header{"Content-Type": {"application/cloudevents+json"}}, Data: []byte(body)}
	}
	binary := func(h nats.Header) *nats.Msg { return &nats.Msg{Header: h} }

	tests := []struct {
		name string
		msg  *nats.Msg
		want string // a fragment the error must contain, naming the culprit
	}{
		{"no headers at all", &nats.Msg{Data: []byte(`{"a":1}`)}, `"specversion"`},
		{"nil header", binary(nil), `"specversion"`},
		{"empty header map", binary(nats.Header{}), `"specversion"`},
		{"missing specversion", binary(with("ce-specversion")), `"specversion"`},
		{"wrong specversion", binary(with("ce-specversion", "0.3")), `"specversion"`},
		{"missing id", binary(with("ce-id")), `"id"`},
		{"empty id", binary(with("ce-id", "")), `"id"`},
		{"missing source", binary(with("ce-source")), `"source"`},
		{"quoted empty source", binary(with("ce-source", `""`)), `"source"`},
		{"missing type", binary(with("ce-type")), `"type"`},
		{"bad time", binary(with("ce-time", "yesterday")), `"time"`},
		{"time without zone", binary(with("ce-time", "2025-01-01T00:00:00")), `"time"`},
		{"time year zero before UTC", binary(with("ce-time", "0000-01-01T00:30:00+01:00")), `"time"`},
		{"decoded control char", binary(with("ce-subject", "a%0Ab")), `"subject": header ce-subject: percent-decoded value holds control character U+000A`},
		{"decoded noncharacter", binary(with("ce-subject", "%EF%BF%BE")), `"subject": header ce-subject: percent-decoded value holds Unicode noncharacter U+FFFE`},
		{"raw control char", binary(with("ce-subject", "a\x01b")), `"subject"`},
		{"raw control char beside a broken escape", binary(with("ce-subject", "a\x01b%")), `"subject"`},
		{"raw invalid utf-8", binary(with("ce-subject", "a\xffb")), `"subject"`},
		{"raw invalid utf-8 beside a broken escape", binary(with("ce-subject", "%a\xffb")), `"subject"`},
		{"raw invalid utf-8 in a valid encoding", binary(with("ce-subject", "%41\xff")), `"subject"`},
		{"duplicate by case", binary(with("CE-ID", "2")), `"id"`},
		{"two values", binary(with("ce-type", "a", "b")), `"type"`},
		{"upper-case-only duplicate extension", func() *nats.Msg {
			h := valid()
			h["ce-tenant"], h["CE-TENANT"] = []string{"a"}, []string{"b"}
			return binary(h)
		}(), `"tenant"`},
		{"bad extension name", binary(with("ce-trace-id", "x")), `"trace-id"`},
		{"empty extension name", binary(with("ce-", "x")), `""`},
		{"reserved extension name", binary(with("ce-data", "x")), `"data"`},
		{"bad extension value", binary(with("ce-tenant", "%00")), `"tenant"`},
		{"two content types", binary(with("content-type", "a/b", "c/d")), "Content-Type"},
		{"broken JSON", structured(`{"specversion":"1.0",`), "JSON"},
		{"JSON not an object", structured(`[1,2]`), "JSON"},
		{"JSON null", structured(`null`), "JSON"},
		{"empty structured body", structured(``), "JSON"},
		{"structured missing specversion", structured(`{"id":"1","source":"s","type":"t"}`), `"specversion"`},
		{"structured wrong specversion", structured(`{"specversion":"0.3","id":"1","source":"s","type":"t"}`), `"specversion"`},
		{"structured specversion not a string", structured(`{"specversion":1.0,"id":"1","source":"s","type":"t"}`), `"specversion"`},
		{"structured missing id", structured(`{"specversion":"1.0","source":"s","type":"t"}`), `"id"`},
		{"structured null source", structured(`{"specversion":"1.0","id":"1","source":null,"type":"t"}`), `"source"`},
		{"structured type not a string", structured(`{"specversion":"1.0","id":"1","source":"s","type":7}`), `"type"`},
		{"structured bad time", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"noon"}`), `"time"`},
		{"structured control char", structured(`{"specversion":"1.0","id":"1\u0007","source":"s","type":"t"}`), `"id"`},
		{"structured object extension", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","ext":{}}`), `"ext"`},
		{"structured float extension", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","ext":1.5}`), `"ext"`},
		{"structured int64 extension", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","ext":4294967296}`), `"ext"`},
		{"structured bad extension name", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","Ext":"x"}`), `"Ext"`},
		{"structured data and data_base64", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","data":1,"data_base64":"AQ=="}`), `"data_base64"`},
		{"structured bad base64", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"%%"}`), `"data_base64"`},
		{"structured non-JSON data not a string", structured(`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data":{}}`), `"data"`},
		{"structured batch", &nats.Msg{Header: nats.Header{"content-type": {"application/cloudevents-batch+json"}}, Data: []byte(`[]`)}, "batch"},
		{"structured other format", &nats.Msg{Header: nats.Header{"Content-Type": {"application/cloudevents+avro"}}, Data: []byte(`x`)}, "format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := envelope.Read(tc.msg.Header, tc.msg.Data)
			require.Error(t, err, "accepted as %+v", got)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, envelope.ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
			assertErrorPrefix(t, err)
		})
	}
}

// With several faults the same one is reported every time, whatever the
// map iteration order.
func TestReadErrorIsDeterministic(t *testing.T) {
	t.Parallel()
	m := &nats.Msg{Header: nats.Header{
		"ce-specversion": {"1.0"}, "ce-id": {"%01"}, "ce-source": {"\x7f"}, "ce-type": {""},
		"ce-bad-one": {"x"}, "ce-Bad_two": {"y"}, "ce-time": {"never"},
	}}
	_, first := envelope.Read(m.Header, m.Data)
	require.Error(t, first)
	assert.Contains(t, first.Error(), `"id"`)
	for range 50 {
		_, err := envelope.Read(m.Header, m.Data)
		require.EqualError(t, err, first.Error())
	}
}
