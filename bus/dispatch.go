package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// dispatcher is the nats.go Consume callback of one consumption. nats.go
// calls it from a single goroutine, so its state needs no lock.
//
// A message's ack-wait clock starts when the server delivers it, but it may
// wait in the client before a worker is free. The client never holds more
// than `prefetch` messages not yet given to this callback, so a message
// arrived no earlier than the callback entry `prefetch` messages before
// it: entries keeps those times, giving a bound on each message's wait
// without any server round trip.
type dispatcher struct {
	s       *Subscription
	entries []time.Time // ring of the last `prefetch` callback entries
	next    int
}

func newDispatcher(s *Subscription) *dispatcher {
	d := &dispatcher{s: s, entries: make([]time.Time, s.cfg.prefetch)}
	now := time.Now()
	for i := range d.entries {
		d.entries[i] = now // nothing arrived before consumption began
	}
	return d
}

func (d *dispatcher) dispatch(msg jetstream.Msg) {
	now := time.Now()
	d.s.lastDelivery.Store(now.UnixNano())
	arrived := d.entries[d.next]
	d.entries[d.next] = now
	d.next = (d.next + 1) % len(d.entries)

	s := d.s
	select {
	case s.work <- queued{msg: msg, arrived: arrived}:
	case <-s.quit:
		// Stopping: hand the message back for immediate redelivery rather
		// than letting it sit out its ack wait.
		_ = msg.NakWithDelay(0)
	case <-s.ctx.Done():
		_ = msg.NakWithDelay(0)
	}
}
