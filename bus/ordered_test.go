package bus_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

// keyedEvent is one message of a key: N is its place in the key's
// publish order.
type keyedEvent struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

var keyedEvt = signedUpEvtFor[keyedEvent]()

// orderLog checks, as handlers report, that each key is handled one
// message at a time and in publish order.
type orderLog struct {
	mu         sync.Mutex
	next       map[string]int // the N each key expects next
	running    map[string]bool
	violations []string
	handled    int
	by         map[int]int // instance -> messages handled
	failed     int
	done       chan struct{}
	want       int
}

func newOrderLog(want int) *orderLog {
	return &orderLog{next: map[string]int{}, running: map[string]bool{}, by: map[int]int{}, done: make(chan struct{}), want: want}
}

func (l *orderLog) start(e keyedEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[e.Key] {
		l.violations = append(l.violations, fmt.Sprintf("%s/%d started while another message of its key ran", e.Key, e.N))
	}
	l.running[e.Key] = true
	if e.N != l.next[e.Key] {
		l.violations = append(l.violations, fmt.Sprintf("%s/%d started when %d was next", e.Key, e.N, l.next[e.Key]))
	}
}

func (l *orderLog) finish(e keyedEvent, instance int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running[e.Key] = false
	if !ok {
		l.failed++
		return
	}
	l.next[e.Key] = e.N + 1
	l.by[instance]++
	l.handled++
	if l.handled == l.want {
		close(l.done)
	}
}

// failsFirst is the deterministic 5% of messages whose first attempt fails.
func failsFirst(id string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return h.Sum32()%20 == 0
}

// orderedHandler handles keyedEvents for instance i, failing the first
// attempt of 5% of them.
func orderedHandler(l *orderLog, i int) bus.Handler[keyedEvent] {
	return func(ctx context.Context, m *bus.Message[keyedEvent]) error {
		l.start(m.Data)
		if m.Attempt == 1 && failsFirst(m.Envelope.ID) {
			l.finish(m.Data, i, false)
			return errors.New("transient failure (test)")
		}
		l.finish(m.Data, i, true)
		return nil
	}
}

func TestOrderedAcrossInstancesKeepsPerKeyOrderThroughFailuresAndHandover(t *testing.T) {
	const keys, perKey, instances = 50, 60, 3
	total := keys * perKey
	srv := bustest.NewServer(t)
	log := newOrderLog(total)
	// Published first, so that the group has a backlog to hand over.
	pub := bustest.Connect(t, srv, bus.WithSource("shop"))
	for n := range perKey {
		for k := range keys {
			key := fmt.Sprintf("order-%d", k)
			_, err := bus.Publish(ctxT(t), pub, keyedEvt, keyedEvent{Key: key, N: n}, bus.WithSubject(key))
			require.NoError(t, err)
		}
	}
	buses := make([]*bus.Bus, instances)
	subs := make([]*bus.Subscription, instances)
	for i := range buses {
		buses[i] = bustest.Connect(t, srv, bus.WithSource("orders"))
		var err error
		subs[i], err = bus.Subscribe(ctxT(t), buses[i], keyedEvt, "ledger", orderedHandler(log, i),
			bus.WithOrdered(), bus.WithConcurrency(8), bus.WithBackoff(20*time.Millisecond), bus.WithMaxDeliver(5),
			// Messages in transit to the stopped instance come back after
			// the ack wait, and their keys wait for them.
			bus.WithAckWait(3*time.Second))
		require.NoError(t, err)
	}

	// Hand over halfway: stop whichever instance is handling.
	eventually(t, 60*time.Second, func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return log.handled >= total/2
	}, "half of the messages handled")
	log.mu.Lock()
	active := 0
	for i, n := range log.by {
		if n > log.by[active] {
			active = i
		}
	}
	log.mu.Unlock()
	subs[active].Stop()

	select {
	case <-log.done:
	case <-time.After(120 * time.Second):
		log.mu.Lock()
		defer log.mu.Unlock()
		t.Fatalf("handled %d of %d", log.handled, total)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	t.Logf("handled per instance %v; %d first attempts failed", log.by, log.failed)
	require.Empty(t, log.violations)
	require.Equal(t, total, log.handled)
	for k := range keys {
		require.Equal(t, perKey, log.next[fmt.Sprintf("order-%d", k)])
	}
	require.Greater(t, log.failed, total/40, "about 5%% of first attempts should have failed")
	require.GreaterOrEqual(t, len(log.by), 2, "a second instance should have taken over: %v", log.by)
	require.Empty(t, bustest.DeadLetters(t, buses[0], bus.DeadLetterFilter{}))
}

func TestOrderedDeadLetterSaysTheKeyContinued(t *testing.T) {
	b := bustest.New(t)
	var mu sync.Mutex
	var seen []int
	_, err := bus.Subscribe(ctxT(t), b, keyedEvt, "ledger", func(ctx context.Context, m *bus.Message[keyedEvent]) error {
		if m.Data.N == 1 {
			return bus.Permanent(errors.New("poison (test)"))
		}
		mu.Lock()
		seen = append(seen, m.Data.N)
		mu.Unlock()
		return nil
	}, bus.WithOrdered())
	require.NoError(t, err)
	for n := range 3 {
		_, err := bus.Publish(ctxT(t), b, keyedEvt, keyedEvent{Key: "a", N: n}, bus.WithSubject("order-a"))
		require.NoError(t, err)
	}
	dls := bustest.WaitDeadLetters(t, b, bus.DeadLetterFilter{}, 1)
	require.True(t, dls[0].KeyContinued)
	require.Equal(t, "order-a", dls[0].OrderKey)
	eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2
	}, "the key moved on past its dead letter")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{0, 2}, seen)
}

func TestOrderKeyOrdersByTheGivenKey(t *testing.T) {
	b := bustest.New(t)
	log := newOrderLog(40)
	_, err := bus.Subscribe(ctxT(t), b, keyedEvt, "ledger", orderedHandler(log, 0),
		bus.WithOrderKey(func(e *envelope.Envelope) string { return e.Extensions["tenant"] }),
		bus.WithConcurrency(4), bus.WithBackoff(10*time.Millisecond))
	require.NoError(t, err)
	for n := range 20 {
		for _, key := range []string{"acme", "globex"} {
			_, err := bus.Publish(ctxT(t), b, keyedEvt, keyedEvent{Key: key, N: n}, bus.WithExtension("tenant", key))
			require.NoError(t, err)
		}
	}
	select {
	case <-log.done:
	case <-time.After(60 * time.Second):
		t.Fatal("not every message was handled")
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	require.Empty(t, log.violations)
}

func TestOrderedOptionsAreValidated(t *testing.T) {
	b := bustest.New(t)
	h := func(context.Context, *bus.Message[keyedEvent]) error { return nil }
	_, err := bus.Subscribe(ctxT(t), b, keyedEvt, "ledger", h, bus.WithOrderKey(nil))
	require.ErrorIs(t, err, bus.ErrInvalidOption)
	require.ErrorContains(t, err, "WithOrdered")
	_, err = bus.Subscribe(ctxT(t), b, keyedEvt, "ledger", h, bus.WithOrdered(), bus.WithRateLimit(10, 1))
	require.ErrorIs(t, err, bus.ErrInvalidOption)
}

var keyedCmd = topic.MustCommand[keyedEvent]("v1.ledger.post")

func TestOrderedCommandsKeepPerKeyOrderOnTwoInstances(t *testing.T) {
	const keys, perKey = 5, 40
	srv := bustest.NewServer(t)
	log := newOrderLog(keys * perKey)
	for i := range 2 {
		b := bustest.Connect(t, srv, bus.WithSource("ledger"))
		_, err := bus.HandleCommand(ctxT(t), b, keyedCmd, orderedHandler(log, i),
			bus.WithOrdered(), bus.WithConcurrency(4), bus.WithBackoff(10*time.Millisecond))
		require.NoError(t, err)
	}
	web := bustest.Connect(t, srv, bus.WithSource("web"))
	for n := range perKey {
		for k := range keys {
			key := fmt.Sprintf("account-%d", k)
			_, err := bus.Send(ctxT(t), web, keyedCmd, keyedEvent{Key: key, N: n}, bus.WithSubject(key))
			require.NoError(t, err)
		}
	}
	select {
	case <-log.done:
	case <-time.After(60 * time.Second):
		t.Fatal("not every command was handled")
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	require.Empty(t, log.violations)
}

func TestAGroupTurnsOrderedByUpdatingItsConsumer(t *testing.T) {
	b := bustest.New(t)
	var plain atomic.Int32
	sub, err := bus.Subscribe(ctxT(t), b, keyedEvt, "ledger", func(context.Context, *bus.Message[keyedEvent]) error {
		plain.Add(1)
		return nil
	})
	require.NoError(t, err)
	_, err = bus.Publish(ctxT(t), b, keyedEvt, keyedEvent{Key: "a"}, bus.WithSubject("a"))
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() bool { return plain.Load() == 1 }, "the plain group handled its event")
	sub.Stop()

	log := newOrderLog(10)
	_, err = bus.Subscribe(ctxT(t), b, keyedEvt, "ledger", orderedHandler(log, 0), bus.WithOrdered(), bus.WithBackoff(10*time.Millisecond))
	require.NoError(t, err)
	for n := range 10 {
		_, err := bus.Publish(ctxT(t), b, keyedEvt, keyedEvent{Key: "b", N: n}, bus.WithSubject("b"))
		require.NoError(t, err)
	}
	select {
	case <-log.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the group did not handle its events once ordered")
	}
	info, err := b.JetStream().Consumer(ctxT(t), "EVT_user", sub.Consumer())
	require.NoError(t, err)
	require.Equal(t, jetstream.PriorityPolicyPinned, info.CachedInfo().Config.PriorityPolicy)
}
