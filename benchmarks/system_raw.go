package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// rawSystem is nats.go's jetstream package used the way a careful engineer
// would use it directly: the physical-ish limit for this server and machine.
// Per message it does the same broker work as choreo (JSON body, a unique
// Nats-Msg-Id, an explicit ack after the handler) and nothing else: no
// CloudEvents headers, no envelope, no retry policy, no ack timeout.
//
// With ce set ("raw-ce") it also writes the CloudEvents headers choreo
// writes (UUIDv7 id, source, type, RFC 3339 time, content type,
// correlation id), built by hand: what the wire format costs the client
// library and the server, without choreo's code. It explains the gap; it is
// not a target.
type rawSystem struct {
	subject, stream string
	ce              bool
	omit            string // raw-ce-<header>: choreo's headers without this one

	pubConn *nats.Conn
	pubJS   jetstream.JetStream
	failed  atomic.Int64

	subConn *nats.Conn
	cc      jetstream.ConsumeContext
	work    chan jetstream.Msg
	workers sync.WaitGroup
}

// rawAsyncWindow matches choreo's default WithAsyncMaxPending, so both
// pipeline the same number of unacknowledged publishes.
const rawAsyncWindow = 4096

func newRaw(ctx context.Context, env runEnv, ce bool, omit string) (system, error) {
	s := &rawSystem{subject: "raw." + env.id + ".bench.recorded", stream: "RAW_" + env.id, ce: ce, omit: omit}
	var err error
	if s.pubConn, err = nats.Connect(env.url, nats.Name("raw-pub")); err != nil {
		return nil, fmt.Errorf("raw: connect: %w", err)
	}
	s.pubJS, err = jetstream.New(s.pubConn,
		jetstream.WithPublishAsyncMaxPending(rawAsyncWindow),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { s.failed.Add(1) }),
	)
	if err != nil {
		s.pubConn.Close()
		return nil, fmt.Errorf("raw: jetstream: %w", err)
	}
	// The same stream settings choreo provisions for an event stream.
	_, err = s.pubJS.CreateStream(ctx, jetstream.StreamConfig{
		Name:       s.stream,
		Subjects:   []string{"raw." + env.id + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Duplicates: 2 * time.Minute,
		MaxAge:     7 * 24 * time.Hour,
	})
	if err != nil {
		s.pubConn.Close()
		return nil, fmt.Errorf("raw: create stream: %w", err)
	}
	return s, nil
}

func (s *rawSystem) msg(p *Payload) (*nats.Msg, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if s.ce {
		return s.ceMsg(data), nil
	}
	return &nats.Msg{
		Subject: s.subject,
		Header:  nats.Header{jetstream.MsgIDHeader: []string{nuid.Next()}},
		Data:    data,
	}, nil
}

// ceMsg writes the headers choreo writes for the first message of a chain
// (docs/wire.md): the CloudEvents attributes, and Nats-Msg-Id, which is the
// source and the id (envelope.MsgID). ce-correlationid is left out, as
// choreo leaves it out when it equals ce-id; raw-ce+correlationid writes it
// (the longer form choreo wrote before).
func (s *rawSystem) ceMsg(data []byte) *nats.Msg {
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	h := nats.Header{
		"ce-specversion":      {"1.0"},
		"ce-id":               {id},
		jetstream.MsgIDHeader: {"bench-pub " + id},
		"ce-source":           {"bench-pub"},
		"ce-type":             {"v1.bench.recorded"},
		"ce-time":             {now},
		"ce-datacontenttype":  {"application/json"},
	}
	switch s.omit {
	case "":
	case "+correlationid":
		h["ce-correlationid"] = []string{id}
	case "nats-msg-id":
		delete(h, jetstream.MsgIDHeader)
		h[jetstream.MsgIDHeader] = []string{nuid.Next()} // dedupe still needs one
	default:
		delete(h, "ce-"+s.omit)
	}
	return &nats.Msg{Subject: s.subject, Header: h, Data: data}
}

// headerVariants names the raw-ce systems of the headers scenario.
func headerVariants() []string {
	return []string{"raw-ce+correlationid", "raw-ce-datacontenttype", "raw-ce-time", "raw-ce-specversion", "raw-ce-nats-msg-id"}
}

func (s *rawSystem) PublishSync(ctx context.Context, p *Payload) error {
	m, err := s.msg(p)
	if err != nil {
		return err
	}
	_, err = s.pubJS.PublishMsg(ctx, m)
	return err
}

func (s *rawSystem) PublishAsync(ctx context.Context, p *Payload) error {
	m, err := s.msg(p)
	if err != nil {
		return err
	}
	for {
		// nats.go itself waits (up to 200ms) for room in the window before
		// giving up with ErrTooManyStalledMsgs; then we simply try again.
		_, err := s.pubJS.PublishMsgAsync(m)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (s *rawSystem) Flush(ctx context.Context) error {
	if err := waitDone(ctx, s.pubJS.PublishAsyncComplete(), "raw: flush"); err != nil {
		return err
	}
	if n := s.failed.Swap(0); n > 0 {
		return fmt.Errorf("raw: %d asynchronous publishes failed", n)
	}
	return nil
}

func (s *rawSystem) Subscribe(ctx context.Context, concurrency int, handle func(*Payload)) error {
	var err error
	if s.subConn, err = nats.Connect(s.pubConn.ConnectedUrl(), nats.Name("raw-sub")); err != nil {
		return fmt.Errorf("raw: connect: %w", err)
	}
	js, err := jetstream.New(s.subConn)
	if err != nil {
		return err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, s.stream, jetstream.ConsumerConfig{
		Durable:       "bench",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: max(1000, 2*concurrency), // as choreo
		FilterSubject: s.subject,
	})
	if err != nil {
		return fmt.Errorf("raw: create consumer: %w", err)
	}
	process := func(m jetstream.Msg) {
		var p Payload
		if err := json.Unmarshal(m.Data(), &p); err != nil {
			_ = m.Term()
			return
		}
		handle(&p)
		_ = m.Ack()
	}
	var cb jetstream.MessageHandler = process
	if concurrency > 1 {
		// nats.go calls the callback from one goroutine: hand messages to
		// `concurrency` workers. With one, handling inline is cheapest.
		s.work = make(chan jetstream.Msg)
		for range concurrency {
			s.workers.Add(1)
			go func() {
				defer s.workers.Done()
				for m := range s.work {
					process(m)
				}
			}()
		}
		cb = func(m jetstream.Msg) { s.work <- m }
	}
	// nats.go's default buffer (500 messages) is what a raw user gets.
	if s.cc, err = cons.Consume(cb); err != nil {
		return fmt.Errorf("raw: consume: %w", err)
	}
	return nil
}

func (s *rawSystem) Close(ctx context.Context) error {
	if s.cc != nil {
		s.cc.Stop()
		<-s.cc.Closed()
	}
	if s.work != nil {
		close(s.work)
		s.workers.Wait()
	}
	if s.subConn != nil {
		s.subConn.Close()
	}
	err := s.Flush(ctx)
	s.pubConn.Close()
	return err
}
