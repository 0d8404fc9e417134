package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/topic"
)

// Reading streams without disturbing anyone. An event stream (limits
// retention) is read through a short-lived ephemeral consumer that reads
// without acknowledging and is deleted at the end (the server removes it a
// minute after a crashed reader). A command stream is a work queue: the
// server refuses a second consumer whose filter overlaps the handler's, and
// any consumer there must acknowledge, which would remove the commands. So
// its messages, the commands no handler has finished yet, are read one by
// one with direct gets, which create no consumer at all.

// storedMsg is one message read from a stream.
type storedMsg struct {
	Stream  string
	Seq     uint64
	Subject string
	Time    time.Time
	Header  nats.Header
	Data    []byte
}

// readBatch is how many messages an event stream read holds at once.
const readBatch = 256

// readTopicStream reads the messages of one topic stream, oldest first,
// whose subjects match one of filters, stored at or after since (zero:
// all). headersOnly leaves payloads on the server (Data then holds nothing).
func readTopicStream(ctx context.Context, js jetstream.JetStream, s topicStream, filters []string, since time.Time, headersOnly bool) iter.Seq2[storedMsg, error] {
	var useful []string
	for _, f := range filters {
		for _, ss := range s.Info.Config.Subjects {
			if subjectsOverlap(f, ss) {
				useful = append(useful, f)
				break
			}
		}
	}
	return func(yield func(storedMsg, error) bool) {
		if len(useful) == 0 || s.Info.State.Msgs == 0 {
			return
		}
		var err error
		if s.Kind == topic.KindCommand {
			err = walkWorkQueue(ctx, js, s, useful, since, yield)
		} else {
			err = readWithConsumer(ctx, js, s.Name, useful, since, headersOnly, yield)
		}
		if err != nil && !errors.Is(err, errStopped) {
			yield(storedMsg{}, fmt.Errorf("reading %s: %w", s.Name, err))
		}
	}
}

// errStopped ends a read the caller stopped.
var errStopped = errors.New("stopped")

func readWithConsumer(ctx context.Context, js jetstream.JetStream, stream string, filters []string, since time.Time, headersOnly bool, yield func(storedMsg, error) bool) error {
	cfg := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubjects:    filters,
		HeadersOnly:       headersOnly,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	}
	if !since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := js.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = js.DeleteConsumer(dctx, stream, cons.CachedInfo().Name)
	}()
	if cons.CachedInfo().NumPending == 0 {
		return nil
	}
	for {
		batch, err := cons.FetchNoWait(readBatch)
		if err != nil {
			return err
		}
		pending, n := uint64(0), 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			pending = meta.NumPending
			if !yield(storedMsg{Stream: stream, Seq: meta.Sequence.Stream, Subject: m.Subject(), Time: meta.Timestamp, Header: m.Headers(), Data: m.Data()}, nil) {
				return errStopped
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if pending == 0 || n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func walkWorkQueue(ctx context.Context, js jetstream.JetStream, s topicStream, filters []string, since time.Time, yield func(storedMsg, error) bool) error {
	stream, err := js.Stream(ctx, s.Name)
	if err != nil {
		return err
	}
	seq := s.Info.State.FirstSeq
	// One walk over every subject of the stream, filtered here: a command
	// stream holds only the commands not handled yet, usually few.
	subject := s.Info.Config.Subjects[0]
	for {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		seq = m.Sequence + 1
		if m.Time.Before(since) || !matchesAny(filters, m.Subject) {
			continue
		}
		if !yield(storedMsg{Stream: s.Name, Seq: m.Sequence, Subject: m.Subject, Time: m.Time, Header: m.Header, Data: m.Data}, nil) {
			return errStopped
		}
	}
}

// matchesAny reports whether subject matches one of the filters.
func matchesAny(filters []string, subject string) bool {
	for _, f := range filters {
		if subjectMatches(f, subject) {
			return true
		}
	}
	return false
}

// subjectsOverlap reports whether some subject matches both filters.
func subjectsOverlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; ; i++ {
		switch {
		case i == len(at) || i == len(bt):
			return len(at) == len(bt)
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] != "*" && bt[i] != "*" && at[i] != bt[i]:
			return false
		}
	}
}
