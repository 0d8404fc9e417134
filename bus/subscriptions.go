package bus

import (
	"slices"
	"strings"
)

// Subscriptions returns the bus's running subscriptions, ordered by
// consumer name. A subscription leaves the list when it is stopped or
// drained, and every one does when Close begins. It is meant for
// instrumentation that reads each consumer's state from the server
// (pending messages, messages awaiting acknowledgement): the stream and
// consumer names locate it.
func (b *Bus) Subscriptions() []*Subscription {
	b.mu.Lock()
	out := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		out = append(out, s)
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(x, y *Subscription) int { return strings.Compare(x.consumer, y.consumer) })
	return out
}

// Stream is the name of the JetStream stream the subscription's consumer
// reads; with Consumer it names the consumer on the server.
func (s *Subscription) Stream() string { return s.stream }
