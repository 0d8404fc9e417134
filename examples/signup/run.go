package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/examples/signup/topics"
	"github.com/choreo-bus/choreo/idempotency"
)

// config is what the command line chose.
type config struct {
	// natsURL is the server -service connects to; the all-in-one mode
	// starts its own.
	natsURL string
	// service is the one service to run, or "" for all of them.
	service string
	// timeout bounds how long the all-in-one mode waits for the
	// choreography to settle.
	timeout time.Duration
	// logger receives the buses' own diagnostics (retries, dead letters,
	// reconnects); nil discards them.
	logger *slog.Logger
	// trace prints one signup's trace (all-in-one); metricsAddr serves
	// the metrics for Prometheus (see telemetry.go).
	trace       bool
	metricsAddr string
	// secured runs the services the way a secured cluster does (see
	// secure_test.go); nil runs them on an open server.
	secured *securedRun
}

// securedRun is how the all-in-one mode runs on a secured server: the
// server's options (a configuration file with a user per service), the
// provisioning done as the operator before any service starts, how each
// service connects, and how email opens its inbox.
type securedRun struct {
	server    []embedded.Option
	provision func(ctx context.Context, url string) error
	dial      func(ctx context.Context, url, service string, extra ...bus.Option) (*bus.Bus, error)
	inbox     []idempotency.KVOption
}

// closeTimeout bounds a bus's graceful shutdown: in-flight handlers get
// this long to finish before their contexts are cancelled.
const closeTimeout = 10 * time.Second

// run is the all-in-one mode: a JetStream server inside this process, the
// four services on it, each with its own connection as if it were its own
// process, and web's signups followed to the end. It returns what happened
// and an error if anything went wrong or the summary does not add up.
func run(ctx context.Context, cfg config, out io.Writer) (Summary, error) {
	// Without WithDir the server keeps its streams in a temporary
	// directory that Shutdown removes.
	sec := cfg.secured
	if sec == nil {
		sec = &securedRun{dial: func(ctx context.Context, url, service string, extra ...bus.Option) (*bus.Bus, error) {
			return connectService(ctx, url, service, cfg.logger, extra...)
		}}
	}
	srv, err := embedded.Start(ctx, sec.server...)
	if err != nil {
		return Summary{}, fmt.Errorf("starting the embedded JetStream server: %w", err)
	}
	defer srv.Shutdown()
	if sec.provision != nil {
		if err := sec.provision(ctx, srv.ClientURL()); err != nil {
			return Summary{}, fmt.Errorf("provisioning: %w", err)
		}
	}
	tel, err := startTelemetry(cfg)
	if err != nil {
		return Summary{}, err
	}
	defer tel.shutdown()

	c := newConsole(out)
	var buses fleet
	defer buses.close() // on early returns; a no-op after the explicit close
	connect := func(service string) (*bus.Bus, error) {
		b, err := sec.dial(ctx, srv.ClientURL(), service, tel.busOptions()...)
		if err == nil {
			buses.add(b)
		}
		return b, err
	}

	// Subscribers start before web sends, like services deployed before
	// the first visitor; started later, they would still read every event.
	accountsBus, err := connect("accounts")
	if err != nil {
		return Summary{}, err
	}
	acc, err := startAccounts(ctx, accountsBus, c)
	if err != nil {
		return Summary{}, err
	}
	defer acc.close() // after the summary, before the deferred buses.close
	emailBus, err := connect("email")
	if err != nil {
		return Summary{}, err
	}
	mail := newMailer(flakyAddress)
	if _, err := startEmail(ctx, emailBus, c, mail, sec.inbox...); err != nil {
		return Summary{}, err
	}
	metricsBus, err := connect("metrics")
	if err != nil {
		return Summary{}, err
	}
	count, err := startMetrics(ctx, metricsBus, c)
	if err != nil {
		return Summary{}, err
	}
	defer count.close()
	opsBus, err := connect("ops")
	if err != nil {
		return Summary{}, err
	}
	ops, err := startObserver(ctx, opsBus)
	if err != nil {
		return Summary{}, err
	}
	web, err := connect("web")
	if err != nil {
		return Summary{}, err
	}

	c.header()
	sent, err := runWeb(ctx, web, c, signupForms())
	if err != nil {
		return Summary{}, err
	}
	dead, err := ops.waitSettled(ctx, len(sent), count, cfg.timeout)
	if err != nil {
		return Summary{}, err
	}
	for _, dl := range dead {
		ops.report(c, dl)
	}

	// Drain every service before counting, so that the summary sees
	// finished work only. accounts' outbox relay stops first: everything
	// it had to publish was published (the choreography settled).
	acc.stop()
	if err := buses.close(); err != nil {
		return Summary{}, err
	}
	if err := tel.report(ctx, out); err != nil {
		return Summary{}, err
	}
	s := Summary{
		SignupsSent:     len(sent),
		UsersCreated:    acc.count(),
		EmailsDelivered: mail.deliveries(),
		WelcomeEvents:   ops.welcomes(),
		SignupsCounted:  count.total(),
		DeadLetters:     dead,
	}
	return s, s.check()
}

// connectService gives a service its own connection, named after it:
// WithSource becomes the source of every message it sends and the name of
// the consumer behind its command handlers.
func connectService(ctx context.Context, url, service string, logger *slog.Logger, extra ...bus.Option) (*bus.Bus, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := append([]bus.Option{bus.WithSource(service), bus.WithLogger(logger.With("service", service))}, extra...)
	b, err := bus.Connect(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", service, err)
	}
	return b, nil
}

// fleet closes the buses of the all-in-one mode, last connected first.
type fleet struct {
	buses []*bus.Bus
}

func (f *fleet) add(b *bus.Bus) { f.buses = append(f.buses, b) }

// close drains every bus: their handlers finish the messages they hold.
func (f *fleet) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	for i := len(f.buses) - 1; i >= 0; i-- {
		if err := f.buses[i].Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: closing: %w", f.buses[i].Source(), err))
		}
	}
	f.buses = nil
	return errors.Join(errs...)
}

// observer watches the choreography from outside, as an operator's
// dashboard would: the events of its last step, v1.email.welcome.sent, and
// the dead-letter queue, where the steps that failed for good end.
type observer struct {
	b        *bus.Bus
	mu       sync.Mutex
	welcomed map[string]int // by address
}

func startObserver(ctx context.Context, b *bus.Bus) (*observer, error) {
	o := &observer{b: b, welcomed: map[string]int{}}
	_, err := bus.Subscribe(ctx, b, topics.EmailWelcomeSentV1Event, "ops", o.welcomeSent)
	if err != nil {
		return nil, fmt.Errorf("ops: subscribing to %s: %w", topics.TopicEmailWelcomeSentV1, err)
	}
	return o, nil
}

func (o *observer) welcomeSent(_ context.Context, m *bus.Message[topics.EmailWelcomeSentV1]) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.welcomed[m.Data.Email]++
	return nil
}

// welcomes returns the v1.email.welcome.sent events seen, by address.
func (o *observer) welcomes() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.welcomed))
	for addr, n := range o.welcomed {
		out[addr] = n
	}
	return out
}

// settleCheck is how often waitSettled looks at the dead-letter queue.
const settleCheck = 50 * time.Millisecond

// waitSettled waits until every signup sent has reached an end, a welcome
// email or a dead letter, and metrics has counted every user; or until
// timeout. It returns the dead letters.
func (o *observer) waitSettled(ctx context.Context, sent int, m *metrics, timeout time.Duration) ([]bus.DeadLetter, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(settleCheck)
	defer tick.Stop()
	for {
		var dead []bus.DeadLetter
		var err error
		for dl, e := range o.b.DeadLetters(ctx, bus.DeadLetterFilter{}) {
			if err = e; err != nil {
				break
			}
			dead = append(dead, dl)
		}
		if err == nil {
			welcomed := 0
			for _, n := range o.welcomes() {
				welcomed += n
			}
			if welcomed+len(dead) >= sent && m.total()+len(dead) >= sent {
				return dead, nil
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("the signups did not settle within %s (welcome emails %v, sign-ups counted %d, dead letters %d, of %d signups; last error: %v); run with -v to see the buses' logs",
					timeout, o.welcomes(), m.total(), len(dead), sent, err)
			}
			return nil, fmt.Errorf("interrupted while waiting for the signups to settle: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// report prints a dead letter. Nothing is redelivered: what is there failed
// for good, and needs a fix (here, the user's address) before a retry.
func (o *observer) report(c *console, dl bus.DeadLetter) {
	if dl.Envelope == nil { // not a CloudEvent at all
		c.line("ops", dl.Subject, "", "", "dead letter #%d in %s: %s", dl.Sequence, dl.Consumer, dl.Reason)
		return
	}
	c.received("ops", dl.Envelope, "dead letter in %s after attempt %d: %s", dl.Consumer, dl.Deliveries, dl.Reason)
	c.received("ops", dl.Envelope, "left in the queue, not redelivered: it needs a fix before a retry")
}
