package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain parses the flags, runs the chosen mode and returns the exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "signup:", err)
		return 2
	}
	// Ctrl-C (SIGINT) or SIGTERM cancels ctx: the services stop taking
	// messages, finish the ones they hold, and the program exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.service != "" {
		if err := serve(ctx, cfg, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "signup:", err)
			return 1
		}
		return 0
	}
	s, err := run(ctx, cfg, stdout)
	if s.SignupsSent > 0 {
		s.print(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "signup:", err)
		return 1
	}
	return 0
}

const usage = `Usage:
  signup [-trace] [-metrics ADDR]   all services in one process, on an embedded server
  signup -service NAME [-nats URL]  one service (accounts, email, metrics or web)

The second form runs the services as separate processes on a NATS server
with JetStream, such as the one "go run ./cmd/choreo dev" starts.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("signup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	defaultURL := os.Getenv("NATS_URL")
	if defaultURL == "" {
		defaultURL = nats.DefaultURL
	}
	url := fs.String("nats", defaultURL, "`URL` of the NATS server for -service ($NATS_URL when set)")
	service := fs.String("service", "", "run only this `service` (accounts, email, metrics or web) against -nats; without it, run all of them on an embedded server")
	timeout := fs.Duration("timeout", 30*time.Second, "all-in-one: how long to wait for every signup to settle")
	verbose := fs.Bool("v", false, "print the buses' own log (every message, retries, dead letters) to standard error")
	trace := fs.Bool("trace", false, "all-in-one: trace the choreography with OpenTelemetry and print one signup's trace as a tree")
	metricsAddr := fs.String("metrics", "", "serve the OpenTelemetry metrics for Prometheus at http://`ADDR`/metrics, e.g. localhost:9464; all-in-one also prints them at the end")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q; see -h", fs.Arg(0))
	}
	cfg := config{natsURL: *url, service: *service, timeout: *timeout, trace: *trace, metricsAddr: *metricsAddr}
	switch cfg.service {
	case "", "accounts", "email", "metrics", "web":
	default:
		return config{}, fmt.Errorf("-service %q: use accounts, email, metrics or web", cfg.service)
	}
	natsSet := false
	fs.Visit(func(f *flag.Flag) { natsSet = natsSet || f.Name == "nats" })
	if natsSet && cfg.service == "" {
		return config{}, errors.New("-nats needs -service: the all-in-one mode runs its own server")
	}
	if cfg.trace && cfg.service != "" {
		return config{}, errors.New("-trace prints the all-in-one run's trace; a service on its own would send its spans to a collector")
	}
	if cfg.timeout <= 0 {
		return config{}, fmt.Errorf("-timeout %s: use a positive duration such as 30s", cfg.timeout)
	}

	// A service on its own logs its bus's warnings and errors, as a
	// service in production would; the all-in-one trace is quieter.
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	if cfg.service != "" || *verbose {
		cfg.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	}
	return cfg, nil
}

// serve runs one service against cfg.natsURL: web sends its signups and
// returns; the others run until ctx is cancelled (Ctrl-C), then drain.
func serve(ctx context.Context, cfg config, out, status io.Writer) (err error) {
	tel, err := startTelemetry(cfg)
	if err != nil {
		return err
	}
	defer tel.shutdown()
	b, err := connectService(ctx, cfg.natsURL, cfg.service, cfg.logger, tel.busOptions()...)
	if err != nil {
		return err
	}
	if tel != nil {
		tel.serveReady(b)
		fmt.Fprintf(status, "%s: metrics for Prometheus at %s (probes: /livez, /readyz)\n", cfg.service, tel.url)
	}
	defer func() {
		// Close stops taking messages, lets the handlers finish the ones
		// they hold (for up to closeTimeout), then closes the connection.
		closeCtx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		err = errors.Join(err, b.Close(closeCtx))
		fmt.Fprintf(status, "%s: stopped\n", cfg.service)
	}()

	hint := "; press Ctrl-C to stop"
	if cfg.service == "web" {
		hint = "" // web stops by itself once it has sent the signups
	}
	fmt.Fprintf(status, "%s: connected to %s%s\n", cfg.service, cfg.natsURL, hint)
	c := newConsole(out)
	c.header()
	switch cfg.service {
	case "web":
		_, err = runWeb(ctx, b, c, signupForms())
		return err
	case "accounts":
		var acc *accounts
		if acc, err = startAccounts(ctx, b, c); err == nil {
			defer acc.close()
		}
	case "email":
		_, err = startEmail(ctx, b, c, newMailer(flakyAddress))
	case "metrics":
		var m *metrics
		if m, err = startMetrics(ctx, b, c); err == nil {
			defer m.close()
		}
	}
	if err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintf(status, "%s: stopping; finishing the messages in hand\n", cfg.service)
	return nil
}
