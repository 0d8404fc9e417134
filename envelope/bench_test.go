package envelope_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/envelope"
)

// The benchmarks encode and decode typical(): id, source, type, time and
// datacontenttype, two extensions (correlationid, traceparent), a 100-byte
// JSON payload; plus Nats-Msg-Id. The SDK benchmarks do the same work
// through sdk-go's binding machinery (binding.Write / binding.ToEvent) with
// a NATS message reader and writer written here, because sdk-go's NATS
// protocol modules are separate Go modules that choreo does not depend on.
// The adapters follow sdk-go's own protocol bindings: "ce-" headers, values
// in canonical string form via types.Format. They do no percent-encoding or
// decoding at all, which only flatters the SDK side.

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
		if _, err := envelope.Read(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSDKBindingWrite(b *testing.B) {
	ev, err := typical().ToCloudEvent()
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := &nats.Msg{Subject: benchSubject}
		if _, err := binding.Write(ctx, binding.ToMessage(&ev), nil, (*sdkNATSWriter)(m)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSDKBindingRead(b *testing.B) {
	ev, err := typical().ToCloudEvent()
	require.NoError(b, err)
	m := &nats.Msg{Subject: benchSubject}
	_, err = binding.Write(context.Background(), binding.ToMessage(&ev), nil, (*sdkNATSWriter)(m))
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, err := binding.ToEvent(ctx, newSDKNATSMessage(m))
		if err != nil {
			b.Fatal(err)
		}
		// Read validates the required attributes; so must the SDK side.
		if err := got.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// The SDK adapters must produce and accept the same messages as Write and
// Read, or the comparison would be meaningless.
func TestSDKAdaptersMatchEnvelope(t *testing.T) {
	t.Parallel()
	in := typical()
	ev, err := in.ToCloudEvent()
	require.NoError(t, err)

	sdkMsg := &nats.Msg{}
	_, err = binding.Write(context.Background(), binding.ToMessage(&ev), nil, (*sdkNATSWriter)(sdkMsg))
	require.NoError(t, err)
	ours := &nats.Msg{}
	require.NoError(t, envelope.Write(ours, in))
	require.Equal(t, ours.Header, sdkMsg.Header)
	require.Equal(t, ours.Data, sdkMsg.Data)

	got, err := binding.ToEvent(context.Background(), newSDKNATSMessage(ours))
	require.NoError(t, err)
	back, err := envelope.FromCloudEvent(*got)
	require.NoError(t, err)
	require.Equal(t, in, back)
}

const sdkPrefix = "ce-"

// sdkVersions maps "ce-<name>" header names to sdk-go attributes.
var sdkVersions = spec.WithPrefix(sdkPrefix)

// sdkNATSWriter is a binding.BinaryWriter that fills a *nats.Msg.
type sdkNATSWriter nats.Msg

var _ binding.BinaryWriter = (*sdkNATSWriter)(nil)

func (w *sdkNATSWriter) Start(context.Context) error {
	w.Header = make(nats.Header, 10)
	return nil
}

func (w *sdkNATSWriter) SetAttribute(attr spec.Attribute, value any) error {
	s, err := types.Format(value)
	if err != nil {
		return err
	}
	w.Header.Set(sdkPrefix+attr.Name(), s)
	return nil
}

func (w *sdkNATSWriter) SetExtension(name string, value any) error {
	s, err := types.Format(value)
	if err != nil {
		return err
	}
	w.Header.Set(sdkPrefix+name, s)
	return nil
}

func (w *sdkNATSWriter) SetData(r io.Reader) error {
	if br, ok := r.(interface{ Len() int }); ok {
		w.Data = make([]byte, br.Len())
		_, err := io.ReadFull(r, w.Data)
		return err
	}
	var err error
	w.Data, err = io.ReadAll(r)
	return err
}

func (w *sdkNATSWriter) End(context.Context) error {
	w.Header.Set(nats.MsgIdHdr, w.Header.Get(sdkPrefix+"id"))
	return nil
}

// sdkNATSMessage is a binding.Message reading a binary-mode *nats.Msg.
type sdkNATSMessage struct {
	msg     *nats.Msg
	version spec.Version
}

var (
	_ binding.Message               = (*sdkNATSMessage)(nil)
	_ binding.MessageMetadataReader = (*sdkNATSMessage)(nil)
)

func newSDKNATSMessage(m *nats.Msg) *sdkNATSMessage {
	return &sdkNATSMessage{msg: m, version: sdkVersions.Version(m.Header.Get(sdkVersions.PrefixedSpecVersionName()))}
}

func (m *sdkNATSMessage) ReadEncoding() binding.Encoding {
	if m.version != nil {
		return binding.EncodingBinary
	}
	return binding.EncodingUnknown
}

func (m *sdkNATSMessage) ReadStructured(context.Context, binding.StructuredWriter) error {
	return binding.ErrNotStructured
}

func (m *sdkNATSMessage) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	for k, v := range m.msg.Header {
		if !strings.HasPrefix(k, sdkPrefix) {
			continue
		}
		var err error
		if attr := m.version.Attribute(k); attr != nil {
			err = w.SetAttribute(attr, v[0])
		} else {
			err = w.SetExtension(k[len(sdkPrefix):], v[0])
		}
		if err != nil {
			return err
		}
	}
	if len(m.msg.Data) > 0 {
		return w.SetData(bytes.NewBuffer(m.msg.Data))
	}
	return nil
}

func (m *sdkNATSMessage) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	attr := m.version.AttributeFromKind(k)
	if attr == nil {
		return nil, nil
	}
	if v, ok := m.msg.Header[attr.PrefixedName()]; ok {
		return attr, v[0]
	}
	return attr, nil
}

func (m *sdkNATSMessage) GetExtension(name string) any {
	if v, ok := m.msg.Header[sdkPrefix+name]; ok {
		return v[0]
	}
	return nil
}

func (m *sdkNATSMessage) Finish(error) error { return nil }

// Keep the structured-format import honest: sdk-go's JSON format is what
// the structured-mode tests serialize with.
var _ = format.JSON

var _ = event.CloudEventsVersionV1
