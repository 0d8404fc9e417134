package bus_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
)

// These benchmarks put choreo next to raw nats.go doing the same work
// (JSON payload, Nats-Msg-Id, file-storage stream) in one process, so a
// noisy machine skews both alike. The benchmarks/ module has the full
// comparison; these guard the hot paths from regressions.

type benchPayload struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Plan   string `json:"plan"`
	Seq    int    `json:"seq"`
}

func payload(i int) benchPayload {
	return benchPayload{UserID: "user-" + strconv.Itoa(i), Email: "someone@example.com", Plan: "pro", Seq: i}
}

var benchEvt = signedUpEvtFor[benchPayload]()

func BenchmarkPublishSync(b *testing.B) {
	bb := bustest.New(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := bus.Publish(ctx, bb, benchEvt, payload(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawPublishSync(b *testing.B) {
	js := rawStream(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		data, _ := json.Marshal(payload(i))
		msg := &nats.Msg{Subject: "evt.v1.user.signedup", Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, envelope.NewID())
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPublishAsync(b *testing.B) {
	bb := bustest.New(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := bus.PublishAsync(ctx, bb, benchEvt, payload(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := bb.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRawPublishAsync(b *testing.B) {
	js := rawStream(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		data, _ := json.Marshal(payload(i))
		msg := &nats.Msg{Subject: "evt.v1.user.signedup", Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, envelope.NewID())
		if _, err := js.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
}

// BenchmarkEndToEnd publishes b.N events asynchronously and waits until a
// subscriber (concurrency 4) has handled them all.
func BenchmarkEndToEnd(b *testing.B) {
	bb := bustest.New(b)
	ctx := context.Background()
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	_, err := bus.Subscribe(ctx, bb, benchEvt, "bench", func(context.Context, *bus.Message[benchPayload]) error {
		if handled.Add(1) == n {
			close(done)
		}
		return nil
	}, bus.WithConcurrency(4))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := bus.PublishAsync(ctx, bb, benchEvt, payload(i)); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

func rawStream(b *testing.B) jetstream.JetStream {
	srv := bustest.NewServer(b)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	_, err = js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: "EVT_user", Subjects: []string{"evt.*.user.>"}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		b.Fatal(err)
	}
	return js
}

// backlog returns a bus whose stream already holds b.N events, published
// before the timer starts.
func backlog(b *testing.B) *bus.Bus {
	bb := bustest.New(b)
	ctx := context.Background()
	for i := range b.N {
		if _, err := bus.PublishAsync(ctx, bb, benchEvt, payload(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := bb.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return bb
}

// BenchmarkConsume measures the delivery path alone: b.N events are stored
// first, then one subscriber (concurrency 16, prefetch 512, as the README
// recommends for fast handlers) drains them.
func BenchmarkConsume(b *testing.B) {
	ctx := b.Context()
	bb := backlog(b)
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	_, err := bus.Subscribe(ctx, bb, benchEvt, "bench", func(context.Context, *bus.Message[benchPayload]) error {
		if handled.Add(1) == n {
			close(done)
		}
		return nil
	}, bus.WithConcurrency(16), bus.WithPrefetch(512))
	if err != nil {
		b.Fatal(err)
	}
	<-done
}

// BenchmarkRawConsume is BenchmarkConsume done with nats.go directly on the
// same messages (published by choreo, so the same CloudEvents headers):
// a durable pull consumer with the same buffer, 16 workers, a JSON decode
// and an ack. The difference is what choreo's delivery path costs.
func BenchmarkRawConsume(b *testing.B) {
	bb := backlog(b)
	ctx := context.Background()
	js := bb.JetStream()
	cons, err := js.CreateConsumer(ctx, "EVT_user", jetstream.ConsumerConfig{
		Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "evt.v1.user.signedup", MaxAckPending: 1024,
	})
	if err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	work := make(chan jetstream.Msg)
	for range 16 {
		go func() {
			for m := range work {
				var p benchPayload
				if err := json.Unmarshal(m.Data(), &p); err != nil {
					b.Error(err)
				}
				_ = m.Ack()
				if handled.Add(1) == n {
					close(done)
				}
			}
		}()
	}
	defer close(work)
	b.ReportAllocs()
	b.ResetTimer()
	cc, err := cons.Consume(func(m jetstream.Msg) { work <- m }, jetstream.PullMaxMessages(512))
	if err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	cc.Stop()
}
