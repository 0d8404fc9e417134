// Package embedded starts a NATS server with JetStream inside the current
// process: the zero-setup broker for examples, local development
// (`choreo dev`), and tests.
//
// A server listens on loopback only. By default it takes a free port and
// keeps its JetStream storage in a temporary directory that Shutdown removes;
// WithDir keeps storage in a directory of your own, so a server restarted on
// the same directory (and, with WithPort, the same port) finds every stream,
// consumer and message it had:
//
//	srv, err := embedded.Start(ctx, embedded.WithDir("./data"), embedded.WithPort(4222))
//	if err != nil { ... }
//	defer srv.Shutdown()
//	b, err := bus.Connect(ctx, srv.ClientURL(), bus.WithSource("accounts"))
//
// StartCluster starts an N-node JetStream cluster on loopback, with a name,
// storage directory and fixed ports per node, so that tests can stop, crash
// and restart nodes and watch streams fail over (see the reliability suite):
//
//	c, err := embedded.StartCluster(ctx, 3)
//	b, err := bus.Connect(ctx, c.ClientURLs(), bus.WithReplicas(3))
//
// WithUser, WithToken, WithNkey and WithTLS secure it; WithConfigFile loads
// a whole nats-server configuration file (authorization with per-user
// permissions, accounts, TLS), such as the one `choreo gen permissions`
// writes.
//
// The server's own log goes to the *slog.Logger given with WithLogger, and
// nowhere otherwise.
//
// Production deployments run nats-server as its own process or cluster; the
// bus package never imports this one, so services that connect to a real
// cluster do not compile the server in.
package embedded
