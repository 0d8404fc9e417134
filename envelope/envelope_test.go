package envelope_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// typical returns the event the benchmarks and most tests use: what choreo
// publishes for an event topic.
func typical() *envelope.Envelope {
	return &envelope.Envelope{
		ID:              "0190f8f0-7c4e-7b8a-9d2e-4f1a2b3c4d5e",
		Source:          "signup-service",
		Type:            "v1.user.signedup",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		DataContentType: "application/json",
		CorrelationID:   "0190f8f0-7c4d-7000-8000-000000000001",
		Extensions:      map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		Data:            []byte(`{"user_id":"u-1842","email":"ada@example.com","plan":"pro","referrer":"newsletter","ok":true}`),
	}
}

// assertErrorPrefix checks the project's error style: the message starts
// with the package prefix and no layer repeats it.
func assertErrorPrefix(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "choreo/envelope: "), "error %q lacks the choreo/envelope prefix", msg)
	assert.Equal(t, 1, strings.Count(msg, "choreo/"), "error %q repeats a prefix", msg)
}

// asRead is in as Read returns it: an absent correlation id is the id.
func asRead(in *envelope.Envelope) *envelope.Envelope {
	out := *in
	if out.CorrelationID == "" {
		out.CorrelationID = out.ID
	}
	return &out
}

func roundTrip(t *testing.T, in *envelope.Envelope) (*nats.Msg, *envelope.Envelope) {
	t.Helper()
	m := nats.NewMsg("evt.v1.user.signedup")
	require.NoError(t, envelope.Write(m, in))
	out, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	return m, out
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	full := typical()
	full.Subject = "user/u-1842"
	full.DataSchema = "https://schemas.example.com/user/signedup/v1.json"
	full.CausationID = "0190f8f0-7c4d-7000-8000-000000000000"
	full.Extensions["tracestate"] = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
	full.Extensions["tenant"] = "acme"

	tests := map[string]*envelope.Envelope{
		"typical":     typical(),
		"full":        full,
		"minimal":     {ID: "1", Source: "s", Type: "t"},
		"no data":     {ID: "1", Source: "s", Type: "t", DataContentType: "application/json"},
		"binary":      {ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 1, 2, 0xff}},
		"unicode":     {ID: "é-1", Source: "/café/ü", Type: "v1.order.placed", Subject: "Euro € 😀", Extensions: map[string]string{"note": `say "hi" 100%`}},
		"nanotime":    {ID: "1", Source: "s", Type: "t", Time: time.Date(2025, 1, 2, 3, 4, 5, 1, time.UTC)},
		"no fraction": {ID: "1", Source: "s", Type: "t", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, out := roundTrip(t, in)
			assert.Equal(t, asRead(in), out)
		})
	}
}

func TestRoundTripNormalizesTimeToUTC(t *testing.T) {
	t.Parallel()
	in := typical()
	in.Time = time.Date(2025, 3, 14, 16, 9, 26, 500_000_000, time.FixedZone("CET", 3600))
	m, out := roundTrip(t, in)
	assert.Equal(t, "2025-03-14T15:09:26.5Z", m.Header.Get("ce-time"))
	assert.True(t, in.Time.Equal(out.Time), "same instant")
	assert.Equal(t, time.UTC, out.Time.Location())
}

func TestWriteHeaders(t *testing.T) {
	t.Parallel()
	in := typical()
	in.Subject = "u-1842"
	m := &nats.Msg{Subject: "evt.v1.user.signedup"} // nil Header: Write creates it
	require.NoError(t, envelope.Write(m, in))
	want := nats.Header{
		"ce-specversion":     {"1.0"},
		"ce-id":              {in.ID},
		"Nats-Msg-Id":        {"signup-service " + in.ID},
		"ce-source":          {"signup-service"},
		"ce-type":            {"v1.user.signedup"},
		"ce-subject":         {"u-1842"},
		"ce-time":            {"2025-03-14T15:09:26.535897Z"},
		"ce-datacontenttype": {"application/json"},
		"ce-correlationid":   {in.CorrelationID},
		"ce-traceparent":     {in.Extensions["traceparent"]},
	}
	assert.Equal(t, want, m.Header)
	assert.Equal(t, in.Data, m.Data)
	assert.Empty(t, m.Header.Get("Content-Type"), "the binding maps datacontenttype to ce-datacontenttype only")

	// Header.Add on one header must not spill into another: each value
	// slice has capacity 1 although they share a backing array.
	m.Header.Add("ce-source", "second")
	assert.Equal(t, []string{"signup-service", "second"}, m.Header["ce-source"])
	assert.Equal(t, []string{"v1.user.signedup"}, m.Header["ce-type"])
}

func TestWriteReplacesPreviousEvent(t *testing.T) {
	t.Parallel()
	m := nats.NewMsg("evt.v1.user.signedup")
	m.Header.Set("X-Keep", "mine")
	m.Header.Set("ce-id", "old") // replaced, not appended to
	m.Header["CE-SUBJECT"] = []string{"stale subject"}
	m.Header["Ce-Legacyext"] = []string{"stale"}
	m.Header["nats-msg-id"] = []string{"old"}
	m.Header.Set("content-type", "text/plain") // would be read as the data content type
	m.Header.Set("Content-Type", "application/cloudevents+json")

	in := &envelope.Envelope{ID: "new", Source: "s", Type: "t"}
	require.NoError(t, envelope.Write(m, in))
	assert.Equal(t, nats.Header{
		"X-Keep":         {"mine"},
		"ce-specversion": {"1.0"},
		"ce-id":          {"new"},
		"Nats-Msg-Id":    {"s new"},
		"ce-source":      {"s"},
		"ce-type":        {"t"},
	}, m.Header)
	out, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	assert.Equal(t, asRead(in), out)
}

// A chain's first message does not repeat its id as ce-correlationid;
// readers default it. The longer form, with the header, reads the same.
func TestCorrelationIDEqualToIDIsLeftOutAndDefaulted(t *testing.T) {
	t.Parallel()
	in := typical()
	in.CorrelationID = in.ID
	m, out := roundTrip(t, in)
	assert.NotContains(t, m.Header, "ce-correlationid")
	assert.Equal(t, in, out)

	m.Header["ce-correlationid"] = []string{in.ID} // as choreo wrote it before
	old, err := envelope.Read(m.Header, m.Data)
	require.NoError(t, err)
	assert.Equal(t, in, old)

	in.CorrelationID = "another"
	m, out = roundTrip(t, in)
	assert.Equal(t, []string{"another"}, m.Header["ce-correlationid"])
	assert.Equal(t, in, out)
}

func TestWriteRejectsInvalidEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(e *envelope.Envelope)
		attr   string
	}{
		{"missing id", func(e *envelope.Envelope) { e.ID = "" }, `"id"`},
		{"missing source", func(e *envelope.Envelope) { e.Source = "" }, `"source"`},
		{"missing type", func(e *envelope.Envelope) { e.Type = "" }, `"type"`},
		{"control char in subject", func(e *envelope.Envelope) { e.Subject = "a\nb" }, `"subject"`},
		{"invalid utf-8 in type", func(e *envelope.Envelope) { e.Type = "v1.\xffbad" }, `"type"`},
		{"upper-case extension", func(e *envelope.Envelope) { e.Extensions["TraceParent"] = "x" }, `"TraceParent"`},
		{"dash in extension", func(e *envelope.Envelope) { e.Extensions["trace-id"] = "x" }, `"trace-id"`},
		{"empty extension name", func(e *envelope.Envelope) { e.Extensions[""] = "x" }, `""`},
		{"core attribute as extension", func(e *envelope.Envelope) { e.Extensions["subject"] = "x" }, `"subject"`},
		{"correlationid as extension", func(e *envelope.Envelope) { e.Extensions["correlationid"] = "x" }, `"correlationid"`},
		{"bad extension value", func(e *envelope.Envelope) { e.Extensions["tenant"] = "\x00" }, `"tenant"`},
		{"year beyond 9999", func(e *envelope.Envelope) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, `"time"`},
		{"negative year", func(e *envelope.Envelope) { e.Time = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }, `"time"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := typical()
			tc.modify(e)
			m := nats.NewMsg("x")
			m.Header.Set("X-Keep", "mine")
			err := envelope.Write(m, e)
			require.Error(t, err)
			assert.ErrorIs(t, err, envelope.ErrMalformed)
			assert.Contains(t, err.Error(), tc.attr)
			assertErrorPrefix(t, err)
			assert.Equal(t, err, e.Validate(), "Validate reports what Write refuses")
			assert.Equal(t, nats.Header{"X-Keep": {"mine"}}, m.Header, "a failed Write leaves the message alone")
			assert.Nil(t, m.Data)
		})
	}
}

func TestWriteNil(t *testing.T) {
	t.Parallel()
	err := envelope.Write(nil, typical())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nats.NewMsg")
	assert.False(t, errors.Is(err, envelope.ErrMalformed), "a nil message is a programming error, not a bad event")
	assertErrorPrefix(t, err)

	err = envelope.Write(nats.NewMsg("x"), nil)
	assert.ErrorIs(t, err, envelope.ErrMalformed)
	assertErrorPrefix(t, err)
	var nilEnvelope *envelope.Envelope
	assert.Equal(t, err, nilEnvelope.Validate())
}

func TestNewID(t *testing.T) {
	t.Parallel()
	const n = 10_000
	seen := make(map[string]struct{}, n)
	prev := ""
	before := time.Now().Add(-time.Millisecond)
	for i := range n {
		id := envelope.NewID()
		u, err := uuid.Parse(id)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(7), u.Version(), "version nibble of %s", id)
		require.Equal(t, uuid.RFC4122, u.Variant())
		require.Equal(t, id, strings.ToLower(id), "canonical lower-case form")
		_, dup := seen[id]
		require.False(t, dup, "duplicate id %s after %d ids", id, i)
		seen[id] = struct{}{}
		require.Greater(t, id, prev, "ids must sort in creation order")
		prev = id
	}
	u := uuid.MustParse(prev)
	sec, nsec := u.Time().UnixTime()
	assert.WithinRange(t, time.Unix(sec, nsec), before, time.Now().Add(time.Millisecond),
		"the id carries its creation time")
}

// IDs from many goroutines at once are unique, and each goroutine's sort
// in its own order; the random tail differs from id to id.
func TestNewIDConcurrent(t *testing.T) {
	t.Parallel()
	const goroutines, each = 8, 5_000
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				ids[g] = append(ids[g], envelope.NewID())
			}
		})
	}
	wg.Wait()
	seen := make(map[string]struct{}, goroutines*each)
	tails := make(map[string]struct{}, goroutines*each)
	for _, list := range ids {
		for i, id := range list {
			_, dup := seen[id]
			require.False(t, dup, "duplicate id %s", id)
			seen[id] = struct{}{}
			tails[id[19:]] = struct{}{}
			if i > 0 {
				require.Greater(t, id, list[i-1], "one goroutine's ids must sort in creation order")
			}
		}
	}
	require.Len(t, tails, goroutines*each, "the random part repeated")
}
