package embedded

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrStart is returned (wrapped) when the server cannot start or does not
// become ready in time.
var ErrStart = errors.New("choreo/embedded: nats-server did not start")

// Server is a running in-process nats-server with JetStream. Its methods are
// safe for concurrent use.
type Server struct {
	ns      *server.Server
	opts    *server.Options
	tempDir string // removed on Shutdown; empty when the caller owns the dir
}

// Option configures Start.
type Option func(*config)

type config struct {
	dir    string
	port   int
	name   string
	logger *slog.Logger
	// cluster settings, set by StartCluster only
	clusterName      string
	clusterPort      int
	clusterAdvertise string // host:port gossiped to peers; "" = the cluster listener
	routes           []string
	// security, set by the options in security.go
	users []*server.User
	nkeys []*server.NkeyUser
	token string
	tls   *tls.Config
	// configFile is a nats-server configuration file (WithConfigFile)
	configFile string
}

// WithDir keeps JetStream storage in dir (created if missing). A server
// restarted on the same dir keeps every stream, consumer and message.
// Default: a fresh temporary directory, removed by Shutdown.
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithPort sets the client port. Default (0): a free port chosen by the
// operating system; read it back with ClientURL.
func WithPort(port int) Option { return func(c *config) { c.port = port } }

// WithName sets the server name, which appears in logs and in JetStream
// cluster metadata. Default: "choreo-embedded".
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithLogger sends the server's log to l (notices at Info, warnings at Warn,
// errors at Error; debug and trace output stays off). Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Start starts a server and waits until it accepts connections, for at most
// the context's deadline (or 10 seconds when the context has none).
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	cfg := config{name: "choreo-embedded"}
	for _, o := range opts {
		o(&cfg)
	}
	return start(ctx, cfg)
}

func start(ctx context.Context, cfg config) (*Server, error) {
	if cfg.port < 0 || cfg.port > 65535 {
		return nil, fmt.Errorf("%w: port %d is out of range; use 0 for a free port or 1-65535", ErrStart, cfg.port)
	}
	s := &Server{}
	dir := cfg.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "choreo-nats-*")
		if err != nil {
			return nil, fmt.Errorf("%w: creating a temporary storage dir: %v", ErrStart, err)
		}
		dir, s.tempDir = tmp, tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: creating storage dir %q: %v", ErrStart, dir, err)
	}

	port := cfg.port
	if port == 0 {
		port = server.RANDOM_PORT
	} else if err := portFree(port); err != nil {
		// The server would otherwise retry the listener until the start
		// timeout; a taken port is a clear error now.
		s.removeTemp()
		return nil, fmt.Errorf("%w: port %d is in use (%v); stop what holds it or use WithPort(0) for a free one", ErrStart, port, err)
	}
	sopts := &server.Options{
		ServerName: cfg.name,
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		// Clients of an in-process server are local; a bigger payload limit
		// than the default would only hide mistakes, so keep the default.
	}
	if cfg.configFile != "" {
		fo, err := loadConfigFile(cfg.configFile, sopts)
		if err != nil {
			s.removeTemp()
			return nil, err
		}
		sopts = fo
	}
	cfg.applySecurity(sopts)
	if cfg.clusterName != "" {
		sopts.Cluster.Name = cfg.clusterName
		sopts.Cluster.Host = "127.0.0.1"
		sopts.Cluster.Port = cfg.clusterPort
		sopts.Cluster.Advertise = cfg.clusterAdvertise
		sopts.Routes = server.RoutesFromStr(strings.Join(cfg.routes, ","))
	}
	s.opts = sopts
	if err := s.boot(ctx, cfg.logger); err != nil {
		s.removeTemp()
		return nil, err
	}
	return s, nil
}

// boot creates and starts the server process from s.opts.
func (s *Server) boot(ctx context.Context, logger *slog.Logger) error {
	ns, err := server.NewServer(s.opts)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStart, err)
	}
	if logger != nil {
		ns.SetLoggerV2(slogAdapter{logger}, false, false, false)
	}
	go ns.Start()

	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return fmt.Errorf("%w: not ready for connections after %s (port %d in use?)", ErrStart, wait.Round(time.Millisecond), s.opts.Port)
	}
	s.ns = ns
	return nil
}

// ClientURL is the URL clients connect to, e.g. "nats://127.0.0.1:41234".
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Port is the client port the server listens on.
func (s *Server) Port() int {
	if a, ok := s.ns.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return s.opts.Port
}

// Dir is the JetStream storage directory.
func (s *Server) Dir() string { return s.opts.StoreDir }

// NATS gives access to the underlying nats-server, for tests that inspect
// JetStream state or inject faults. Most users never need it.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits until it has stopped. Storage made by
// Start (no WithDir) is removed. Calling Shutdown more than once is safe.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.removeTemp()
}

// portFree reports whether the loopback port can be listened on now.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}
