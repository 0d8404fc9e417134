package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// topicStream is one of a namespace's topic streams (CMD_user, EVT_user)
// with its durable consumers, as the server reported them.
type topicStream struct {
	Name      string
	Kind      topic.Kind
	Entity    string
	Info      *jetstream.StreamInfo
	Consumers []groupConsumer
}

// groupConsumer is the durable consumer of one group on one topic.
type groupConsumer struct {
	Stream string
	Kind   topic.Kind
	Name   string // email__v1_user_signedup
	Group  string // email
	Topic  string // v1.user.signedup; "" when its filter is no topic subject
	Info   *jetstream.ConsumerInfo
}

// lastActive is the last time the consumer delivered or had a message
// acknowledged.
func (c groupConsumer) lastActive() time.Time {
	var t time.Time
	for _, p := range []*time.Time{c.Info.Delivered.Last, c.Info.AckFloor.Last} {
		if p != nil && p.After(t) {
			t = *p
		}
	}
	return t
}

// backlog is what the group still has to finish: not yet delivered plus
// delivered and not yet acknowledged.
func (c groupConsumer) backlog() uint64 { return c.Info.NumPending + uint64(c.Info.NumAckPending) }

// inventory lists the namespace's topic streams and their group consumers,
// sorted by name. Ephemeral consumers (another tool reading, this CLI's
// own) and consumers whose names are not group__topic are left out: they
// are nobody's group.
func inventory(ctx context.Context, b *bus.Bus) ([]topicStream, error) {
	js, ns := b.JetStream(), b.Namespace()
	var out []topicStream
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		kind, entity, ok := topic.ParseStream(ns, info.Config.Name)
		if !ok {
			continue
		}
		out = append(out, topicStream{Name: info.Config.Name, Kind: kind, Entity: entity, Info: info})
	}
	if err := streams.Err(); err != nil {
		return nil, fmt.Errorf("listing streams: %w", err)
	}
	slices.SortFunc(out, func(a, b topicStream) int { return strings.Compare(a.Name, b.Name) })
	for i := range out {
		s := &out[i]
		stream, err := js.Stream(ctx, s.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading stream %s: %w", s.Name, err)
		}
		list := stream.ListConsumers(ctx)
		for ci := range list.Info() {
			group, _, found := strings.Cut(ci.Name, "__")
			if ci.Config.Durable == "" || !found {
				continue
			}
			c := groupConsumer{Stream: s.Name, Kind: s.Kind, Name: ci.Name, Group: group, Info: ci}
			if _, n, err := topic.ParseSubject(ns, ci.Config.FilterSubject); err == nil {
				c.Topic = n.String()
			}
			s.Consumers = append(s.Consumers, c)
		}
		if err := list.Err(); err != nil {
			return nil, fmt.Errorf("listing the consumers of %s: %w", s.Name, err)
		}
		slices.SortFunc(s.Consumers, func(a, b groupConsumer) int { return strings.Compare(a.Name, b.Name) })
	}
	return out, nil
}

// deadLetterCounts counts the dead letters of each consumer, keyed
// "stream/consumer", from the dead-letter stream's per-subject counts: one
// request, however many dead letters there are.
func deadLetterCounts(ctx context.Context, b *bus.Bus) (map[string]int, error) {
	ns := b.Namespace()
	stream, err := b.JetStream().Stream(ctx, topic.DeadLetterStream(ns))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return map[string]int{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the dead-letter stream: %w", err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(topic.DeadLetterSubjects(ns)))
	if err != nil {
		return nil, fmt.Errorf("counting dead letters: %w", err)
	}
	prefix := strings.TrimSuffix(topic.DeadLetterSubjects(ns), ">")
	counts := make(map[string]int, len(info.State.Subjects))
	for subject, n := range info.State.Subjects {
		rest, ok := strings.CutPrefix(subject, prefix)
		if !ok {
			continue
		}
		if s, c, ok := strings.Cut(rest, "."); ok {
			counts[s+"/"+c] += int(n)
		}
	}
	return counts, nil
}
