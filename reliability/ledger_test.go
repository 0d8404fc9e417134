package reliability_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
)

// ledger is the book a scenario keeps: which messages the broker
// acknowledged to the publisher, and how many times a handler had the
// effect of each. Lost = acknowledged but never handled; a duplicate effect
// = a handler run beyond the first for one message. Safe for concurrent
// use.
//
// Message ids are kept as 16-byte UUIDs in maps sized up front, so that
// recording a message allocates nothing and the heap figures of a scenario
// measure the bus, not the book.
type ledger struct {
	mu      sync.Mutex
	acked   map[uuid.UUID]int // message id -> sequence number
	effects map[uuid.UUID]int // message id -> successful handler runs
	by      map[string]int    // instance -> successful handler runs
	both    int               // messages both acknowledged and handled
	latency []time.Duration
}

// newLedger returns a ledger with room for n messages.
func newLedger(n int) *ledger {
	return &ledger{
		acked:   make(map[uuid.UUID]int, n),
		effects: make(map[uuid.UUID]int, n),
		by:      map[string]int{},
		latency: make([]time.Duration, 0, n),
	}
}

// ledgerKey turns a message id (a UUID, as every id of the scenarios is)
// into its map key.
func ledgerKey(id string) uuid.UUID {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.NewSHA1(uuid.Nil, []byte(id))
	}
	return u
}

// ack records that the publish of message id returned success.
func (l *ledger) ack(idString string, seq int) {
	id := ledgerKey(idString)
	l.mu.Lock()
	if _, again := l.acked[id]; !again {
		l.acked[id] = seq
		if l.effects[id] > 0 {
			l.both++
		}
	}
	l.mu.Unlock()
}

// effect records that instance had the effect of message id, sent at
// sentAt, and reports whether it was the message's first.
func (l *ledger) effect(idString, instance string, sentAt int64) (first bool) {
	now := time.Now()
	id := ledgerKey(idString)
	l.mu.Lock()
	l.effects[id]++
	l.by[instance]++
	if _, acked := l.acked[id]; acked && l.effects[id] == 1 {
		l.both++
	}
	first = l.effects[id] == 1
	if first && sentAt != 0 {
		l.latency = append(l.latency, now.Sub(time.Unix(0, sentAt)))
	}
	l.mu.Unlock()
	return first
}

// ledgerCounts are a ledger's figures at one moment.
type ledgerCounts struct {
	acked      int // publishes that returned success
	handled    int // distinct messages with at least one effect
	lost       int // acknowledged, never handled
	dupEffects int // effects beyond the first, summed over messages
	maxEffects int // the most effects one message had
}

func (l *ledger) counts() ledgerCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := ledgerCounts{acked: len(l.acked), handled: len(l.effects)}
	for id := range l.acked {
		if l.effects[id] == 0 {
			c.lost++
		}
	}
	for _, n := range l.effects {
		c.dupEffects += n - 1
		c.maxEffects = max(c.maxEffects, n)
	}
	return c
}

// ackedCount is the number of acknowledged publishes so far.
func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// allHandled reports whether every acknowledged message had its effect.
func (l *ledger) allHandled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.both == len(l.acked)
}

// perInstance returns the successful runs of each instance.
func (l *ledger) perInstance(instance string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[instance]
}

// latencies returns publish-to-first-effect latencies.
func (l *ledger) latencies() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.latency...)
}

// publisher publishes orderPlaced at a steady rate from several
// goroutines, as a service under load would. A publish that fails is
// retried with the same message id until it is acknowledged (the stream's
// duplicate window keeps one copy), which is what a publisher that must
// not lose an event does.
type publisher struct {
	b              *bus.Bus
	l              *ledger
	rate           float64       // messages per second
	workers        int           // concurrent publishers
	attemptTimeout time.Duration // deadline of one Publish call
	// admit, when set, is called before message seq is published, at its
	// time or later; it waits until the scenario lets it go (an error
	// stops the run). Scenarios that compare latencies use it to keep
	// the publisher from outrunning a busy machine.
	admit func(ctx context.Context, seq int) error

	failedAttempts atomic.Int64 // Publish calls that returned an error
	slowest        atomic.Int64 // longest time to an ack, retries included, ns
}

// run publishes n messages and returns when all are acknowledged or ctx
// is done (then with ctx's error), or admit failed (with its error).
func (p *publisher) run(ctx context.Context, n int) error {
	seqs := make(chan int)
	var admitErr error
	go func() {
		defer close(seqs)
		interval := time.Duration(float64(time.Second) / p.rate)
		start := time.Now()
		for i := range n {
			// Pace against the start time, not the previous send, so a
			// stall is followed by a catch-up and the mean rate holds.
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			if p.admit != nil {
				if admitErr = p.admit(ctx, i); admitErr != nil {
					return
				}
			}
			select {
			case seqs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() {
			for seq := range seqs {
				p.publishOne(ctx, seq)
			}
		})
	}
	wg.Wait()
	if admitErr != nil { // written before seqs closed, which ended the workers
		return admitErr
	}
	return ctx.Err()
}

func (p *publisher) publishOne(ctx context.Context, seq int) {
	id := envelope.NewID()
	start := time.Now()
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, p.attemptTimeout)
		_, err := bus.Publish(actx, p.b, orderPlaced, order{Seq: seq, SentAt: start.UnixNano()}, bus.WithID(id))
		cancel()
		if err == nil {
			p.l.ack(id, seq)
			took := int64(time.Since(start))
			for cur := p.slowest.Load(); took > cur && !p.slowest.CompareAndSwap(cur, took); cur = p.slowest.Load() {
			}
			return
		}
		if errors.Is(err, bus.ErrClosed) {
			return
		}
		p.failedAttempts.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lostWhere counts the acknowledged messages whose sequence number
// satisfies include and that were never handled.
func (l *ledger) lostWhere(include func(seq int) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := 0
	for id, seq := range l.acked {
		if include(seq) && l.effects[id] == 0 {
			lost++
		}
	}
	return lost
}

// countWhere counts the acknowledged messages whose sequence number
// satisfies include.
func (l *ledger) countWhere(include func(seq int) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, seq := range l.acked {
		if include(seq) {
			n++
		}
	}
	return n
}

// seqOf returns the sequence number of an acknowledged message.
func (l *ledger) seqOf(id string) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, ok := l.acked[ledgerKey(id)]
	return seq, ok
}
