package envelope_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// minimalHeader is a valid binary-mode CloudEvent without extensions.
func minimalHeader() nats.Header {
	return nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
}

// withExtensions adds n extension headers ce-x00000, ce-x00001, ... The
// header map hands them to Read in random order.
func withExtensions(h nats.Header, n int) nats.Header {
	for i := range n {
		h[fmt.Sprintf("ce-x%05d", i)] = []string{"v" + strconv.Itoa(i)}
	}
	return h
}

// Read takes up to MaxExtensions extensions, in whatever order the map
// gives them, and every one arrives.
func TestReadMaxExtensions(t *testing.T) {
	t.Parallel()
	got, err := envelope.Read(withExtensions(minimalHeader(), envelope.MaxExtensions), nil)
	require.NoError(t, err)
	require.Len(t, got.Extensions, envelope.MaxExtensions)
	for i := range envelope.MaxExtensions {
		require.Equal(t, "v"+strconv.Itoa(i), got.Extensions[fmt.Sprintf("x%05d", i)])
	}

	again := nats.NewMsg("x")
	require.NoError(t, envelope.Write(again, got))
	back, err := envelope.Read(again.Header, again.Data)
	require.NoError(t, err)
	assert.Equal(t, got, back)
}

// One more is refused, and so is a flood: the count is checked before any
// per-extension work, so a message with 100,000 extension headers costs a
// pass over its headers and no more (it took 59 ms with 5,000 when
// extensions were insertion-sorted).
func TestReadTooManyExtensions(t *testing.T) {
	t.Parallel()
	for _, n := range []int{envelope.MaxExtensions + 1, 100_000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			_, err := envelope.Read(withExtensions(minimalHeader(), n), nil)
			require.ErrorIs(t, err, envelope.ErrMalformed)
			assert.Contains(t, err.Error(), fmt.Sprintf("%d extension attributes; at most %d", n, envelope.MaxExtensions))
			assertErrorPrefix(t, err)
		})
	}
	t.Run("structured", func(t *testing.T) {
		t.Parallel()
		var body strings.Builder
		body.WriteString(`{"specversion":"1.0","id":"1","source":"s","type":"t"`)
		for i := range envelope.MaxExtensions + 1 {
			fmt.Fprintf(&body, `,"x%05d":"v"`, i)
		}
		body.WriteString("}")
		_, err := envelope.Read(nats.Header{"Content-Type": {"application/cloudevents+json"}}, []byte(body.String()))
		require.ErrorIs(t, err, envelope.ErrMalformed)
		assert.Contains(t, err.Error(), fmt.Sprintf("at most %d", envelope.MaxExtensions))
	})
}

// Among many extensions, faults are found wherever the map puts them, and
// the first by name is the one reported, every time: a name given twice in
// two letter cases, and a bad name that sorts after it.
func TestReadManyExtensionsFaultsDeterministic(t *testing.T) {
	t.Parallel()
	h := withExtensions(minimalHeader(), envelope.MaxExtensions-2)
	h["CE-X00100"] = []string{"again"}
	h["ce-y_bad"] = []string{"v"}
	_, first := envelope.Read(h, nil)
	require.ErrorIs(t, first, envelope.ErrMalformed)
	assert.Contains(t, first.Error(), `attribute "x00100": given more than once`)
	for range 20 {
		_, err := envelope.Read(h, nil)
		require.EqualError(t, err, first.Error())
	}
}

func TestValueAndNameLimits(t *testing.T) {
	t.Parallel()
	longest := strings.Repeat("a", envelope.MaxValueBytes)
	longestEncoded := strings.Repeat("é", envelope.MaxValueBytes/2) // 3 encoded bytes per byte on the wire
	tooLong := longest + "a"
	longestName := strings.Repeat("n", envelope.MaxExtensionNameBytes)
	tooLongName := longestName + "n"

	t.Run("longest values and name round-trip", func(t *testing.T) {
		t.Parallel()
		in := &envelope.Envelope{ID: longest, Source: "s", Type: "t", Subject: longestEncoded,
			Extensions: map[string]string{longestName: longest}}
		require.NoError(t, in.Validate())
		_, out := roundTrip(t, in)
		assert.Equal(t, asRead(in), out)
	})

	writes := []struct {
		name string
		e    *envelope.Envelope
		want string
	}{
		{"id", &envelope.Envelope{ID: tooLong, Source: "s", Type: "t"}, `attribute "id": value is 65537 bytes long; attribute values are limited to 65536 bytes`},
		{"subject", &envelope.Envelope{ID: "1", Source: "s", Type: "t", Subject: tooLong}, `attribute "subject": value is 65537 bytes long`},
		{"extension value", &envelope.Envelope{ID: "1", Source: "s", Type: "t", Extensions: map[string]string{"ext": tooLong}}, `attribute "ext": value is 65537 bytes long`},
		{"extension name", &envelope.Envelope{ID: "1", Source: "s", Type: "t", Extensions: map[string]string{tooLongName: "v"}}, "extension name is 65 bytes long; names are limited to 64"},
		{"extension count", &envelope.Envelope{ID: "1", Source: "s", Type: "t", Extensions: func() map[string]string {
			m := map[string]string{}
			for i := range envelope.MaxExtensions + 1 {
				m[fmt.Sprintf("x%d", i)] = "v"
			}
			return m
		}()}, "129 extension attributes; at most 128 are allowed"},
	}
	for _, tc := range writes {
		t.Run("Write refuses too long "+tc.name, func(t *testing.T) {
			t.Parallel()
			err := envelope.Write(nats.NewMsg("x"), tc.e)
			require.ErrorIs(t, err, envelope.ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
			assertErrorPrefix(t, err)
		})
	}

	reads := []struct {
		name string
		h    nats.Header
		data string
		want string
	}{
		{"plain value", with(minimalHeader(), "ce-subject", tooLong), "", `attribute "subject": header ce-subject: value is 65537 bytes long`},
		{"percent-encoded value", with(minimalHeader(), "ce-subject", strings.Repeat("%41", envelope.MaxValueBytes+1)), "", `attribute "subject": header ce-subject: percent-decoded value is 65537 bytes long`},
		{"extension name", with(minimalHeader(), "ce-"+tooLongName, "v"), "", "names are limited to 64"},
		{"Content-Type as datacontenttype", with(minimalHeader(), "Content-Type", "text/"+tooLong), "", `attribute "datacontenttype": header Content-Type: value is 65542 bytes long`},
		{"structured value", nats.Header{"Content-Type": {"application/cloudevents+json"}},
			`{"specversion":"1.0","id":"1","source":"s","type":"t","subject":"` + tooLong + `"}`, `attribute "subject": member "subject": value is 65537 bytes long`},
		{"structured extension value", nats.Header{"Content-Type": {"application/cloudevents+json"}},
			`{"specversion":"1.0","id":"1","source":"s","type":"t","ext":"` + tooLong + `"}`, `attribute "ext": value is 65537 bytes long`},
	}
	for _, tc := range reads {
		t.Run("Read refuses too long "+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := envelope.Read(tc.h, []byte(tc.data))
			require.ErrorIs(t, err, envelope.ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
			assertErrorPrefix(t, err)
		})
	}
}

// with returns h with header k set to v.
func with(h nats.Header, k, v string) nats.Header {
	h[k] = []string{v}
	return h
}

// An error quotes at most a clipped piece of what a hostile message sent.
func TestErrorsQuoteClippedInput(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("X", 100_000)
	headers := []nats.Header{
		with(minimalHeader(), "ce-"+huge, "v"),
		with(minimalHeader(), "ce-time", huge),
		with(minimalHeader(), "ce-time", "2025-01-01T00:00:00Z"+huge),
		with(minimalHeader(), "ce-specversion", huge),
		{"Content-Type": {"application/cloudevents+" + huge}},
	}
	for _, h := range headers {
		_, err := envelope.Read(h, nil)
		require.ErrorIs(t, err, envelope.ErrMalformed)
		assert.Less(t, len(err.Error()), 1000, "error %.200s...", err)
	}
}

// BenchmarkReadManyExtensions reads messages with many extension headers,
// up to the limit; the cost per extension stays flat.
func BenchmarkReadManyExtensions(b *testing.B) {
	for _, n := range []int{16, envelope.MaxExtensions} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := withExtensions(minimalHeader(), n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := envelope.Read(h, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
