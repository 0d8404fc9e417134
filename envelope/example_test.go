package envelope_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/envelope"
)

// Write puts the event's attributes into ce- headers (binary content mode)
// and its data into the payload. Values outside printable ASCII, spaces,
// quotes and percent signs are percent-encoded.
func ExampleWrite() {
	e := &envelope.Envelope{
		ID:              "0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e", // normally envelope.NewID()
		Source:          "signup-service",
		Type:            "v1.user.signedup",
		Subject:         "Zoë Müller",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 500_000_000, time.UTC),
		DataContentType: "application/json",
		CorrelationID:   "0190f8f0-7c4d-7000-8000-000000000001",
		Data:            []byte(`{"user_id":"u-1842"}`),
	}
	m := &nats.Msg{Subject: "evt.v1.user.signedup"} // a nil Header is sized by Write
	if err := envelope.Write(m, e); err != nil {
		fmt.Println(err)
		return
	}
	names := make([]string, 0, len(m.Header))
	for name := range m.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Printf("%s: %s\n", name, m.Header.Get(name))
	}
	fmt.Printf("payload: %s\n", m.Data)
	// Output:
	// Nats-Msg-Id: signup-service 0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e
	// ce-correlationid: 0190f8f0-7c4d-7000-8000-000000000001
	// ce-datacontenttype: application/json
	// ce-id: 0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e
	// ce-source: signup-service
	// ce-specversion: 1.0
	// ce-subject: Zo%C3%AB%20M%C3%BCller
	// ce-time: 2025-03-14T15:09:26.5Z
	// ce-type: v1.user.signedup
	// payload: {"user_id":"u-1842"}
}

// Read accepts binary mode with header names in any letter case, quoted
// and percent-encoded values, and values sent raw, as the CloudEvents SDKs
// send them (a value that is no valid percent-encoding is taken as it is);
// and structured mode (the JSON event format).
func ExampleRead() {
	binary := &nats.Msg{
		Subject: "evt.v1.order.placed",
		Header: nats.Header{
			"CE-SPECVERSION": {"1.0"},
			"Ce-Id":          {`"A234-1234-1234"`},
			"Ce-Source":      {"/caf%C3%A9/orders"},
			"Ce-Type":        {"v1.order.placed"},
			"Ce-Tenant":      {"acme"},
			"Ce-Subject":     {"sübject 100%"},
		},
		Data: []byte(`{"order":42}`),
	}
	e, err := envelope.Read(binary.Header, binary.Data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.ID, e.Source, e.Type, e.Extensions["tenant"], string(e.Data))
	fmt.Println(e.Subject)

	structured := &nats.Msg{
		Subject: "evt.v1.order.placed",
		Header:  nats.Header{"Content-Type": {"application/cloudevents+json"}},
		Data: []byte(`{"specversion":"1.0","id":"B-1","source":"/shop","type":"v1.order.placed",
			"time":"2018-04-05T19:31:00+02:00","datacontenttype":"application/xml","data":"<order id=\"42\"/>"}`),
	}
	e, err = envelope.Read(structured.Header, structured.Data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.ID, e.Time, e.DataContentType, string(e.Data))

	_, err = envelope.Read(nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-type": {"t"}}, nil)
	fmt.Println(err)
	// Output:
	// A234-1234-1234 /café/orders v1.order.placed acme {"order":42}
	// sübject 100%
	// B-1 2018-04-05 17:31:00 +0000 UTC application/xml <order id="42"/>
	// choreo/envelope: malformed CloudEvent: attribute "source": missing or empty; a CloudEvent needs non-empty id, source and type and specversion 1.0 (binary mode: ce-source header; structured mode: "source" member)
}

// NewID returns time-ordered UUIDv7 strings.
func ExampleNewID() {
	a, b := envelope.NewID(), envelope.NewID()
	fmt.Println(len(a), a[14] == '7', a < b)
	// Output: 36 true true
}
