package main

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/envelope"
	"github.com/choreo-bus/choreo/topic"
)

const liveGraphHelp = `
Usage: choreo graph -live [-catalog FILE] [-for D] [-since D] [-format mermaid|dot] [-out FILE]

Draws the choreography as the bus shows it, the way 'choreo graph' draws a
catalog: a service handles or subscribes to a topic when its consumer
group reads it, and sends or publishes a topic when messages with its
name as source (ce-source) are seen: in the event streams, in the work
queues (commands not handled yet), in the dead-letter stream, and live
during -for. Handled commands are gone from their work queues, so a
sender of commands shows only while it sends (-for) or when one of its
commands waits or was dead-lettered. A source that is no valid service
name is drawn under a cleaned-up name.

With -catalog, it also reports the drift between the two, one line each
on standard error, and exits 1 when there is any:

	undeclared_topic  a topic seen on the bus that the catalog does not declare
	unseen_topic      a declared topic with no message and no group on the bus
	undeclared_use    a service doing what the catalog does not say it does
	                  (publishing, sending, handling or subscribing)

-json prints, instead of the graph (which then goes only to -out), one
object per use seen: type "use", service, role (sends, handles,
publishes, subscribes), topic, kind, messages (how many seen; 0 for a
group), and one per drift: type "drift", problem, service, role, topic,
message.

Examples:

	choreo graph -live -for 30s > live.mmd
	choreo graph -live -catalog catalog.yaml -for 1m
`

// observedUse is one use the bus shows: a service in a role on a topic.
type observedUse struct {
	Type     string `json:"type"` // "use"
	Service  string `json:"service"`
	Role     string `json:"role"`
	Topic    string `json:"topic"`
	Kind     string `json:"kind"`
	Messages int    `json:"messages"`
}

// observation is everything graph -live saw.
type observation struct {
	mu     sync.Mutex
	ns     string
	uses   map[[3]string]*observedUse // service, role, topic
	topics map[string]topic.Kind
	done   bool // set when observing ends: a late live message is ignored
}

func newObservation(ns string) *observation {
	return &observation{ns: ns, uses: map[[3]string]*observedUse{}, topics: map[string]topic.Kind{}}
}

// use records one use; messages counts the messages that showed it.
func (ob *observation) use(service string, role catalog.Role, k topic.Kind, name string, messages int) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.done {
		return
	}
	ob.topics[name] = k
	if service == "" {
		return
	}
	key := [3]string{service, string(role), name}
	u := ob.uses[key]
	if u == nil {
		u = &observedUse{Type: "use", Service: service, Role: string(role), Topic: name, Kind: k.String()}
		ob.uses[key] = u
	}
	u.Messages += messages
}

// message records a message: its source sends or publishes its topic.
func (ob *observation) message(subject string, h nats.Header, data []byte) {
	k, name, ok := kindOfSubject(ob.ns, subject)
	if !ok {
		return
	}
	env, err := envelope.Read(h, data)
	source := ""
	if err == nil {
		source = serviceName(env.Source)
	}
	role := catalog.RolePublishes
	if k == topic.KindCommand {
		role = catalog.RoleSends
	}
	ob.use(source, role, k, name, 1)
}

// list returns the uses, sorted.
func (ob *observation) list() []*observedUse {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	out := make([]*observedUse, 0, len(ob.uses))
	for _, u := range ob.uses {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *observedUse) int {
		return strings.Compare(a.Service+"\x00"+a.Role+"\x00"+a.Topic, b.Service+"\x00"+b.Role+"\x00"+b.Topic)
	})
	return out
}

// serviceName turns a CloudEvents source into a name a catalog accepts:
// choreo services use their name as source; anything else is cleaned up.
func serviceName(source string) string {
	name := topic.GroupName(source)
	if c := name[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		name = "s-" + name
	}
	return name
}

// observe reads what the namespace shows: groups, stored messages, dead
// letters, and live traffic for forDur.
func observe(ctx context.Context, o *opsCommand, b *bus.Bus, since time.Time, forDur time.Duration) (*observation, error) {
	ob := newObservation(b.Namespace())
	// Live first, so nothing published while history is read is missed.
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	liveUntil := time.Now().Add(forDur)
	if forDur > 0 {
		subjects, _ := tailPatterns(b.Namespace(), nil, []topic.Kind{topic.KindCommand, topic.KindEvent})
		for _, s := range subjects {
			sub, err := b.Conn().Subscribe(s, func(m *nats.Msg) { ob.message(m.Subject, headerOf(m), m.Data) })
			if err != nil {
				return nil, err
			}
			subs = append(subs, sub)
		}
		if err := b.Conn().FlushTimeout(o.conn.timeout); err != nil {
			return nil, err
		}
	}
	rctx, cancel := o.request(ctx)
	streams, err := inventory(rctx, b)
	cancel()
	if err != nil {
		return nil, err
	}
	for _, s := range streams {
		for _, gc := range s.Consumers {
			if gc.Topic == "" {
				continue
			}
			role := catalog.RoleSubscribes
			if s.Kind == topic.KindCommand {
				role = catalog.RoleHandles
			}
			ob.use(serviceName(gc.Group), role, s.Kind, gc.Topic, 0)
		}
		for m, err := range readTopicStream(ctx, b.JetStream(), s, s.Info.Config.Subjects, since, true) {
			if err != nil {
				return nil, err
			}
			if m.Header.Get(topic.HeaderRedeliverTo) == "" { // a replay is no new publish
				ob.message(m.Subject, m.Header, nil)
			}
		}
	}
	err = eachDeadLetter(ctx, b, bus.DeadLetterFilter{Since: since}, func(dl bus.DeadLetter) error {
		ob.message(dl.Subject, dl.Header, dl.Data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(liveUntil)):
	}
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	subs = nil
	ob.mu.Lock()
	ob.done = true
	ob.mu.Unlock()
	return ob, nil
}
