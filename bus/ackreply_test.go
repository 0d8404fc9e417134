package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/embedded"
)

func TestParseAckReplyForms(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  ackPosition
		ok    bool
	}{
		{"$JS.ACK.EVT_user.g__v1_user_signedup.2.17.9.1763790000000000000.4", ackPosition{2, 17}, true},
		{"$JS.ACK._.ACCHASH.EVT_user.g__v1_user_signedup.1.5.5.1763790000000000000.0", ackPosition{1, 5}, true},
		{"$JS.ACK.hub.ACCHASH.EVT_user.g.3.99.42.1763790000000000000.0.Rnd0m", ackPosition{3, 99}, true},
		{"$JS.ACK.hub.ACCHASH.EVT_user.g.3.99.42.1763790000000000000.0.Rnd0m.future", ackPosition{3, 99}, true},
		{"", ackPosition{}, false},
		{"_INBOX.abc.def", ackPosition{}, false},
		{"$JS.ACK.S.C.1.2.3.4", ackPosition{}, false},                      // 8 tokens
		{"$JS.ACK.D.H.S.C.1.2.3.4", ackPosition{}, false},                  // 10 tokens
		{"$JS.ACK.S.C.x.2.3.4.5", ackPosition{}, false},                    // delivered not a number
		{"$JS.ACK.S.C.1..3.4.5", ackPosition{}, false},                     // empty sequence
		{"$JS.ACK.S.C.1.99999999999999999999.3.4.5", ackPosition{}, false}, // overflows
	} {
		got, ok := parseAckReply(tc.reply)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseAckReply(%q) = %+v, %v; want %+v, %v", tc.reply, got, ok, tc.want, tc.ok)
		}
	}
}

// The parser must agree with nats.go's own on what a real server sends,
// first deliveries and redeliveries alike.
func TestParseAckReplyMatchesServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ACKS", Subjects: []string{"acks.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := js.Publish(ctx, "acks.x", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for round := range 2 { // the second round sees redeliveries
		batch, err := cons.Fetch(3, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			got, ok := parseAckReply(m.Reply())
			want := ackPosition{delivered: meta.NumDelivered, streamSeq: meta.Sequence.Stream}
			if !ok || got != want {
				t.Fatalf("parseAckReply(%q) = %+v, %v; nats.go reads %+v", m.Reply(), got, ok, want)
			}
			if got.delivered != uint64(round+1) {
				t.Fatalf("round %d: delivered = %d", round, got.delivered)
			}
			checked++
			if round == 0 {
				_ = m.NakWithDelay(0)
			} else {
				_ = m.Ack()
			}
		}
		if batch.Error() != nil {
			t.Fatal(batch.Error())
		}
	}
	if checked != 6 {
		t.Fatalf("checked %d deliveries, want 6", checked)
	}
}

func BenchmarkParseAckReply(b *testing.B) {
	const reply = "$JS.ACK._.ACCHASH.EVT_user.g__v1_user_signedup.1.123456.123456.1763790000000000000.0.Rnd0m"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseAckReply(reply); !ok {
			b.Fatal("not parsed")
		}
	}
}
