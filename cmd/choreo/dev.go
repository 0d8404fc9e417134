package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/choreo-bus/choreo/embedded"
)

const devHelp = `
Usage: choreo dev [-port 4222] [-dir DIR] [-v] [-config FILE]
                  [-user NAME | -token] [-tls-cert FILE -tls-key FILE [-tls-client-ca FILE]]

Runs a NATS server with JetStream inside this process, in the foreground,
for local work with several services in separate processes. It listens on
loopback only and stops cleanly on Ctrl+C (SIGINT) or SIGTERM. Without
-dir, streams live in a temporary directory removed on exit; with -dir
they survive restarts.

To try services the way production connects, run it secured: -user NAME
takes the password from $CHOREO_DEV_PASSWORD, -token the token from
$CHOREO_DEV_TOKEN (flags would show secrets in process listings), and
-tls-cert/-tls-key serve TLS, with -tls-client-ca requiring client
certificates. Services then connect with bus.WithNATSOptions.

-config FILE loads a nats-server configuration file as nats-server -c
would (authorization with per-user permissions, accounts, TLS): for
instance the output of 'choreo gen permissions', to try locally what the
services may do on a secured cluster. Variables the file does not define
($CHOREO_PASSWORD_EMAIL) come from the environment. JetStream stays on, and
-port and -dir apply unless the file sets a port or a store_dir.

Example:

	choreo dev -dir .choreo-data
	# in other terminals:
	NATS_URL=nats://127.0.0.1:4222 go run ./examples/signup ...
`

func (c *cli) dev(ctx context.Context, args []string) int {
	const cmd = "choreo dev"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	port := fs.Int("port", 4222, "client `port` on 127.0.0.1; 0 picks a free one")
	dir := fs.String("dir", "", "`directory` for JetStream storage, kept across restarts (default: a temporary one, removed on exit)")
	verbose := fs.Bool("v", false, "print the server's log to standard error")
	config := fs.String("config", "", "nats-server configuration `file` to load (authorization, accounts, TLS), e.g. from choreo gen permissions")
	var sec devSecurity
	sec.register(fs)
	if code, ok := c.parse(fs, devHelp, args); !ok {
		return code
	}
	secure, err := sec.options(os.Getenv)
	if err != nil {
		c.usageError(cmd, err.Error())
		return exitUsage
	}
	if *config != "" && (sec.user != "" || sec.token) {
		c.usageError(cmd, "-config brings its own authorization; drop -user and -token, or put them in the file")
		return exitUsage
	}
	if *port < 0 || *port > 65535 {
		c.usageError(cmd, fmt.Sprintf("-port %d: use 0 to 65535", *port))
		return exitUsage
	}
	if *port != 0 {
		// nats-server cannot report a taken port other than by never
		// becoming ready, which takes the whole start timeout; checking
		// first turns a 10-second hang into an instant, clear error.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
		if err != nil {
			return c.failf(cmd, "port %d is not available: %v (-port 0 picks a free one)", *port, err)
		}
		l.Close()
	}
	opts := append([]embedded.Option{embedded.WithPort(*port)}, secure...)
	if *config != "" {
		opts = append(opts, embedded.WithConfigFile(*config))
	}
	if *dir != "" {
		opts = append(opts, embedded.WithDir(*dir))
	}
	if *verbose {
		opts = append(opts, embedded.WithLogger(slog.New(slog.NewTextHandler(c.stderr, nil))))
	}
	srv, err := embedded.Start(ctx, opts...)
	if err != nil {
		hint := ""
		if *port != 0 {
			hint = fmt.Sprintf(" (is port %d in use? -port 0 picks a free one)", *port)
		}
		return c.failf(cmd, "%v%s", err, hint)
	}
	storage := "a temporary directory, removed on exit"
	if *dir != "" {
		storage = *dir
	}
	fmt.Fprintf(c.stdout, "choreo dev: NATS with JetStream listening on %s\n", srv.ClientURL())
	access := sec.describe()
	if *config != "" {
		access = "the authorization of " + *config
	}
	fmt.Fprintf(c.stdout, "choreo dev: clients get in with %s; storage in %s; press Ctrl+C to stop\n", access, storage)
	<-ctx.Done()
	srv.Shutdown()
	fmt.Fprintln(c.stdout, "choreo dev: stopped")
	return exitOK
}
