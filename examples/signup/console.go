package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/envelope"
)

// console prints the trace of the choreography: one aligned line per step,
// naming the service, the topic, the message id and the correlation id, so
// that a reader can pick one correlation id and follow that signup from web
// through accounts to email and metrics.
//
// Services print to it from their handlers, which run concurrently, so
// every line is written whole under a mutex.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

func newConsole(out io.Writer) *console { return &console{out: out} }

// Column widths: the longest service name and topic name of the catalog.
const lineFormat = "%-8s  %-21s  %-8s  %-8s  %s\n"

// header prints the column titles.
func (c *console) header() {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, lineFormat, "SERVICE", "TOPIC", "MSG", "CORR", "WHAT HAPPENED")
}

// line prints one step about the message id, of type topic, in the chain
// corr.
func (c *console) line(service, topic, id, corr, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, lineFormat, service, topic, short(id), short(corr), text)
}

// received prints a step about an incoming message.
func (c *console) received(service string, env *envelope.Envelope, format string, args ...any) {
	c.line(service, env.Type, env.ID, env.CorrelationID, format, args...)
}

// sent prints a step about a message a handler sends or publishes while
// handling in: it shares in's correlation id, which the bus copies onto
// it because the handler passes its own ctx to bus.Send or bus.Publish.
func (c *console) sent(service, topic, id string, in *envelope.Envelope, format string, args ...any) {
	c.line(service, topic, id, in.CorrelationID, format, args...)
}

// outcomes is middleware that prints why a delivery failed, next to the
// lines the handler printed itself. It only watches: it returns the
// handler's error unchanged, so the bus still decides what happens next.
func (c *console) outcomes(service string) bus.Middleware {
	return func(next bus.HandlerFunc) bus.HandlerFunc {
		return func(ctx context.Context, d *bus.Delivery) error {
			err := next(ctx, d)
			switch {
			case err == nil:
			case errors.Is(err, context.Canceled):
				c.received(service, d.Envelope, "interrupted by shutdown; the broker redelivers it")
			case bus.IsPermanent(err):
				c.received(service, d.Envelope, "%v: no retry, to the dead-letter queue", err)
			default:
				// The bus redelivers it after the back-off, or parks it
				// if this was the last attempt (WithMaxDeliver).
				c.received(service, d.Envelope, "attempt %d failed: %v", d.Attempt, err)
			}
			return err
		}
	}
}

// short keeps the last 8 characters of an id. The ids are UUIDv7, whose
// first characters are a timestamp shared by every message of a run; the
// last ones are random, so they tell messages apart.
func short(id string) string {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}
