package envelope_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

func TestReadStructuredHandWritten(t *testing.T) {
	t.Parallel()
	const head = `{"specversion":"1.0","id":"1","source":"s","type":"t"`
	tests := []struct {
		name, body string
		dct        string
		data       []byte
		ext        map[string]string
	}{
		{"data without datacontenttype is JSON", head + `,"data":{"a": [1, 2]}}`, "application/json", []byte(`{"a": [1, 2]}`), nil},
		{"JSON string data stays a JSON string", head + `,"datacontenttype":"application/json","data":"hi"}`, "application/json", []byte(`"hi"`), nil},
		{"+json type is JSON", head + `,"datacontenttype":"application/vnd.x+json; v=1","data":[true]}`, "application/vnd.x+json; v=1", []byte(`[true]`), nil},
		{"explicit null JSON payload", head + `,"datacontenttype":"application/json","data":null}`, "application/json", []byte(`null`), nil},
		{"xml data is the string content", head + `,"datacontenttype":"application/xml","data":"<much wow=\"xml\"/>"}`, "application/xml", []byte(`<much wow="xml"/>`), nil},
		{"null attributes are absent", head + `,"subject":null,"time":null,"unsetextension":null}`, "", nil, nil},
		{"null data_base64 is absent", head + `,"data_base64":null,"datacontenttype":"text/plain","data":"x"}`, "text/plain", []byte("x"), nil},
		{"integer extensions canonical", head + `,"neg":-0,"big":2147483647,"small":-2147483648}`, "", nil,
			map[string]string{"neg": "0", "big": "2147483647", "small": "-2147483648"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &nats.Msg{Header: nats.Header{"content-type": {"application/cloudevents"}}, Data: []byte(tc.body)}
			got, err := envelope.Read(m.Header, m.Data)
			require.NoError(t, err)
			assert.Equal(t, tc.dct, got.DataContentType)
			assert.Equal(t, tc.data, got.Data)
			assert.Equal(t, tc.ext, got.Extensions)
		})
	}
}
