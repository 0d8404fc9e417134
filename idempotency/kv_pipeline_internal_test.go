package idempotency

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/embedded"
)

// BenchmarkKVDoneRecord weighs, at the store level and on one in-process
// server, the designs considered for the KV store's throughput:
//
//   - sync: the store as it is, claim then done record, both waited for,
//     with 16 and with 64 callers (more callers is what pipelining claims
//     with fetching would amount to: more writes in flight);
//   - async-done: the claim waited for, the done record published with the
//     asynchronous JetStream API (the same conditional write) and confirmed
//     later, so the caller moves on one round trip sooner.
//
// Besides the rate it reports the process's CPU per message, server
// included: on a shared machine the rate follows the other load, the CPU
// per message much less. The package documentation gives the results; run
// it several times with -count 1 to interleave the variants.
func BenchmarkKVDoneRecord(b *testing.B) {
	srv, err := embedded.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := NewKVStore(ctx, js, "done_record_bench")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	claim := func(b *testing.B) Claim {
		k := Key{Scope: "bench", ID: run + "-" + strconv.FormatInt(n.Add(1), 10)}
		c, err := s.Claim(ctx, k, 30*time.Second)
		if err != nil || c.Status != Acquired {
			b.Fatal(c.Status, err)
		}
		return c
	}
	for _, callers := range []int{16, 64} {
		b.Run("sync/callers="+strconv.Itoa(callers), func(b *testing.B) {
			b.SetParallelism(callers / 2) // per core, on two cores
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Complete(ctx, claim(b), time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			})
			reportRateAndCPU(b, cpu)
		})
	}
	b.Run("async-done/callers=16", func(b *testing.B) {
		b.SetParallelism(8)
		cpu := processCPU()
		var failed atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c := claim(b)
				m := &nats.Msg{Subject: s.putPrefix + kvKey(c.Key), Data: []byte(doneValue), Header: nats.Header{
					jetstream.ExpectedLastSubjSeqHeader: {strconv.FormatUint(c.Token, 10)},
					jetstream.MsgTTLHeader:              {ttlHeader(time.Hour)},
				}}
				f, err := js.PublishMsgAsync(m)
				if err != nil {
					b.Fatal(err)
				}
				go func() { // where the message's ack would be sent
					select {
					case <-f.Ok():
					case <-f.Err():
						failed.Add(1)
					}
				}()
			}
		})
		<-js.PublishAsyncComplete()
		reportRateAndCPU(b, cpu)
		if failed.Load() != 0 {
			b.Fatalf("%d done records failed", failed.Load())
		}
	})
}

func reportRateAndCPU(b *testing.B, cpuBefore time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64((processCPU()-cpuBefore).Microseconds())/float64(b.N), "cpu-µs/msg")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
