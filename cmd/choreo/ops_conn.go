package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/topic"
)

// The operations commands (tail, dlq, status, trace, groups, graph -live)
// talk to a running NATS server. They share the flags below, connect
// through bus.Connect (so credentials never show in errors and a server
// without JetStream is caught at once) and never leave a durable consumer
// behind: they read streams through direct gets, core subscriptions and
// short-lived consumers that they delete when done.

// defaultServer is where the operations commands connect when neither
// -server nor $NATS_URL says otherwise.
const defaultServer = "nats://127.0.0.1:4222"

// cliSource is the CloudEvents source and connection name of the CLI.
const cliSource = "choreo-cli"

// connFlags are the connection flags every operations command takes.
type connFlags struct {
	server, namespace      string
	creds, nkey            string
	user, password, token  string
	tlsCA, tlsCert, tlsKey string
	json                   bool
	timeout                time.Duration
	verbose                bool
}

// connHelp is appended to every operations command's help.
const connHelp = `
Connection: -server (default $NATS_URL, else ` + defaultServer + `), -namespace,
and the credentials the server needs: -creds FILE (a .creds file), -nkey
FILE (an nkey seed file), -user with -password, or -token; -tlsca FILE to
trust the server's certificate and -tlscert/-tlskey FILE for a client
certificate. The password and token default to $NATS_PASSWORD and
$NATS_TOKEN, which keeps them out of the process list and shell history.
`

// register adds the connection flags to fs.
func (f *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.server, "server", "", "NATS server `URL`s, comma-separated (default $NATS_URL, else "+defaultServer+")")
	fs.StringVar(&f.namespace, "namespace", "", "choreo `namespace` of the services (default: none)")
	fs.StringVar(&f.creds, "creds", "", "NATS user credentials `file` (.creds)")
	fs.StringVar(&f.nkey, "nkey", "", "nkey seed `file`")
	fs.StringVar(&f.user, "user", "", "user `name` (with -password or $NATS_PASSWORD)")
	fs.StringVar(&f.password, "password", "", "`password` for -user (default $NATS_PASSWORD)")
	fs.StringVar(&f.token, "token", "", "authentication `token` (default $NATS_TOKEN)")
	fs.StringVar(&f.tlsCA, "tlsca", "", "`file` of CA certificates that sign the server's certificate")
	fs.StringVar(&f.tlsCert, "tlscert", "", "client certificate `file` (with -tlskey)")
	fs.StringVar(&f.tlsKey, "tlskey", "", "client private key `file` (with -tlscert)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per line instead of text")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound on connecting and on each request to the server")
	fs.BoolVar(&f.verbose, "v", false, "print the bus's warnings to standard error")
}

// check validates the flags that can be checked before connecting; its
// error is a usage error.
func (f *connFlags) check() error {
	if err := topic.ValidateNamespace(f.namespace); err != nil {
		return fmt.Errorf("-namespace: %w", err)
	}
	switch {
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return errors.New("-tlscert and -tlskey go together: give both or neither")
	case f.password != "" && f.user == "":
		return errors.New("-password needs -user")
	case f.user != "" && f.token != "":
		return errors.New("give -user or -token, not both")
	case f.timeout <= 0:
		return fmt.Errorf("-timeout %s: use a positive duration such as 10s", f.timeout)
	}
	return nil
}

// url is the server to dial.
func (f *connFlags) url() string {
	if f.server != "" {
		return f.server
	}
	if u := os.Getenv("NATS_URL"); u != "" {
		return u
	}
	return defaultServer
}

// natsOptions turns the credential and TLS flags into nats.go options.
func (f *connFlags) natsOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if f.creds != "" {
		if _, err := os.Stat(f.creds); err != nil {
			return nil, fmt.Errorf("-creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	if f.nkey != "" {
		o, err := nats.NkeyOptionFromSeed(f.nkey)
		if err != nil {
			return nil, fmt.Errorf("-nkey %s: %w", f.nkey, err)
		}
		opts = append(opts, o)
	}
	if f.user != "" {
		pw := f.password
		if pw == "" {
			pw = os.Getenv("NATS_PASSWORD")
		}
		opts = append(opts, nats.UserInfo(f.user, pw))
	}
	token := f.token
	if token == "" && f.user == "" {
		token = os.Getenv("NATS_TOKEN")
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if f.tlsCA != "" {
		opts = append(opts, nats.RootCAs(f.tlsCA))
	}
	if f.tlsCert != "" {
		opts = append(opts, nats.ClientCert(f.tlsCert, f.tlsKey))
	}
	return opts, nil
}

// connect dials the server as the CLI. The bus it returns is closed by the
// caller; it only ever reads, redelivers and deletes.
func (f *connFlags) connect(ctx context.Context, c *cli, extra ...bus.Option) (*bus.Bus, error) {
	natsOpts, err := f.natsOptions()
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	opts := []bus.Option{bus.WithSource(cliSource), bus.WithNamespace(f.namespace), bus.WithLogger(logger), bus.WithNATSOptions(natsOpts...)}
	return bus.Connect(cctx, f.url(), append(opts, extra...)...)
}

// closeBus closes a CLI bus without waiting long: it holds no handlers.
func closeBus(b *bus.Bus) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.Close(ctx)
}
