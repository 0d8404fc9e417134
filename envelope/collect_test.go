package envelope

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// collectExact may only answer when it finds what collect finds: checked on
// random header sets mixing choreo's own names with letter-case variants,
// foreign headers, extensions and repeated or empty values.
func TestCollectExactAgreesWithCollect(t *testing.T) {
	names := append(exactNames[:], nats.MsgIdHdr, hdrTraceParent, "CE-ID", "Ce-Type",
		"ce-TraceParent", "ce-tenant", "Content-Type", "content-type", "X-Other")
	rng := rand.New(rand.NewPCG(1, 2))
	fast, slow := 0, 0
	for range 20000 {
		h := nats.Header{}
		for range rng.IntN(len(names)) {
			vs := make([]string, rng.IntN(3))
			for i := range vs {
				vs[i] = names[rng.IntN(len(names))]
			}
			h[names[rng.IntN(len(names))]] = vs
		}
		var exact rawHeaders
		exts, ok := exact.collectExact(h, nil)
		if !ok {
			slow++
			continue
		}
		fast++
		var full rawHeaders
		want := full.collect(h, nil)
		byName := func(a, b rawExtension) int { return strings.Compare(a.name, b.name) }
		slices.SortFunc(exts, byName)
		slices.SortFunc(want, byName)
		if exact != full || !reflect.DeepEqual(exts, want) {
			t.Fatalf("headers %v:\ncollectExact %+v %+v\ncollect      %+v %+v", h, exact, exts, full, want)
		}
	}
	if fast < 100 || slow < 100 {
		t.Fatalf("the random headers exercised the fast path %d times and the slow one %d times; both need cases", fast, slow)
	}
}

// Every message choreo writes takes the fast path.
func TestCollectExactTakesChoreoMessages(t *testing.T) {
	e := &Envelope{ID: "id", Source: "src", Type: "v1.user.signedup", Subject: "u1", DataContentType: "application/json",
		DataSchema: "https://example.com/s", CorrelationID: "c", CausationID: "k",
		Extensions: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	e.Time = e.Time.AddDate(2026, 0, 0)
	for _, withOptional := range []bool{true, false} {
		if !withOptional {
			e = &Envelope{ID: "id", Source: "src", Type: "v1.user.signedup"}
		}
		m := &nats.Msg{Subject: "evt.v1.user.signedup"}
		if err := Write(m, e); err != nil {
			t.Fatal(err)
		}
		var r rawHeaders
		if _, ok := r.collectExact(m.Header, nil); !ok {
			t.Fatalf("choreo's own headers %v missed the fast path", m.Header)
		}
	}
}
