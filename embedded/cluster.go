package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// globalAccount is the account every client of an embedded server uses:
// there is no authentication, so all streams live in nats-server's global
// account.
const globalAccount = server.DEFAULT_GLOBAL_ACCOUNT

// Cluster is a JetStream cluster of in-process nats-servers on loopback,
// for tests that need replication and failover: streams with 3 replicas,
// a stream leader that goes away, a server that comes back. Every node
// keeps its name, client port, cluster port and storage directory for the
// life of the Cluster, so a node stopped with StopNode and started again
// with RestartNode rejoins as the same peer with its data.
//
// Its methods are safe for concurrent use.
type Cluster struct {
	tempDir string // removed by Shutdown; empty when the caller owns the dir

	mu    sync.Mutex
	nodes []*clusterNode
}

// clusterNode is one member: its fixed configuration and, while it runs,
// its server.
type clusterNode struct {
	cfg config
	srv *Server // nil while stopped
}

// StartCluster starts an n-node JetStream cluster (n from 2 to 9; 3 is the
// usual choice: it keeps a quorum when one node is down) and waits until
// every node accepts connections and the JetStream meta leader is elected,
// for at most the context's deadline (or 30 seconds when it has none).
//
// The options mean, per node i (from 0):
//
//   - WithName(name): the cluster is called name and node i "name-i".
//     Default: "choreo".
//   - WithDir(dir): node i stores its JetStream data in dir/name-i, which
//     Shutdown leaves in place. Default: a temporary directory that Shutdown
//     removes.
//   - WithPort(p): node i takes client port p+i. Default: free ports.
//   - WithLogger(l): every node logs to l, with a "server" attribute naming
//     it.
//
// Cluster (route) ports are always free ports, picked once up front and
// kept for restarts. Connect clients to ClientURLs: nats.go (and so
// bus.Connect) moves to another node on its own when one goes down.
func StartCluster(ctx context.Context, n int, opts ...Option) (*Cluster, error) {
	if n < 2 || n > 9 {
		return nil, fmt.Errorf("%w: a cluster of %d nodes; use 2 to 9 (3 survives the loss of one), or Start for a single server", ErrStart, n)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	base := config{name: "choreo"}
	for _, o := range opts {
		o(&base)
	}
	if base.port < 0 || base.port+n-1 > 65535 {
		return nil, fmt.Errorf("%w: client ports %d to %d are out of range; use 0 for free ports", ErrStart, base.port, base.port+n-1)
	}
	c := &Cluster{}
	root := base.dir
	if root == "" {
		tmp, err := os.MkdirTemp("", "choreo-cluster-*")
		if err != nil {
			return nil, fmt.Errorf("%w: creating a temporary storage dir: %v", ErrStart, err)
		}
		root, c.tempDir = tmp, tmp
	}
	nodes, err := planNodes(base, n, root)
	if err != nil {
		c.removeTemp()
		return nil, err
	}
	c.nodes = nodes

	// Start every node at once: each one's readiness does not depend on the
	// others, and starting them together lets the routes form while the
	// later ones boot.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Go(func() { nd.srv, errs[i] = start(ctx, nd.cfg) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Shutdown()
		return nil, err
	}
	if err := c.WaitForJetStream(ctx); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	return c, nil
}

// planNodes fixes every node's name, ports, routes and storage directory.
func planNodes(base config, n int, root string) ([]*clusterNode, error) {
	clusterPorts, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	clientPorts := make([]int, n)
	if base.port == 0 {
		if clientPorts, err = freePorts(n); err != nil {
			return nil, err
		}
	} else {
		for i := range clientPorts {
			clientPorts[i] = base.port + i
		}
	}
	routes := make([]string, n)
	for i, p := range clusterPorts {
		routes[i] = "nats-route://127.0.0.1:" + strconv.Itoa(p)
	}
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		cfg := base
		cfg.name = base.name + "-" + strconv.Itoa(i)
		cfg.dir = filepath.Join(root, cfg.name)
		cfg.port = clientPorts[i]
		cfg.clusterName = base.name
		cfg.clusterPort = clusterPorts[i]
		cfg.routes = routes // a node ignores the route to itself
		if base.logger != nil {
			cfg.logger = base.logger.With("server", cfg.name)
		}
		nodes[i] = &clusterNode{cfg: cfg}
	}
	return nodes, nil
}

// freePorts asks the operating system for n distinct free loopback ports.
// All listeners stay open until all ports are known, so none repeats.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("%w: finding a free port: %v", ErrStart, err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Size is the number of nodes, running or stopped.
func (c *Cluster) Size() int { return len(c.nodes) }

// ClientURLs lists every node's client URL, comma-separated, stopped nodes
// included (their ports stay reserved for RestartNode): the url to give
// bus.Connect or nats.Connect.
func (c *Cluster) ClientURLs() string {
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		urls[i] = "nats://127.0.0.1:" + strconv.Itoa(nd.cfg.port)
	}
	return strings.Join(urls, ",")
}

// Servers returns the nodes' servers by index; a stopped node's entry is
// nil.
func (c *Cluster) Servers() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Server, len(c.nodes))
	for i, nd := range c.nodes {
		out[i] = nd.srv
	}
	return out
}

// Server returns node i's server, or nil while it is stopped or when i is
// not a node.
func (c *Cluster) Server(i int) *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.nodes) {
		return nil
	}
	return c.nodes[i].srv
}

// Name returns node i's server name ("choreo-0", ...).
func (c *Cluster) Name(i int) string { return c.nodes[i].cfg.name }

// StopNode shuts node i down, as a rolling restart or SIGTERM would: it
// hands the leadership of its streams and consumers to other nodes, closes
// its clients' connections (which move to other nodes) and stops. Its
// storage stays for RestartNode. Stopping a stopped node is an error.
func (c *Cluster) StopNode(i int) error {
	c.mu.Lock()
	if i < 0 || i >= len(c.nodes) {
		c.mu.Unlock()
		return fmt.Errorf("embedded: node %d does not exist; the cluster has nodes 0 to %d", i, len(c.nodes)-1)
	}
	nd := c.nodes[i]
	srv := nd.srv
	nd.srv = nil
	c.mu.Unlock()
	if srv == nil {
		return fmt.Errorf("embedded: node %d (%s) is already stopped", i, nd.cfg.name)
	}
	srv.Shutdown()
	return nil
}

// RestartNode starts stopped node i again with its name, ports and storage,
// and waits until it accepts connections (at most ctx's deadline, or 10
// seconds). It rejoins the cluster and catches up on its own; call
// WaitForJetStream (or WaitForStream) to wait for that.
func (c *Cluster) RestartNode(ctx context.Context, i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.nodes) {
		return fmt.Errorf("embedded: node %d does not exist; the cluster has nodes 0 to %d", i, len(c.nodes)-1)
	}
	nd := c.nodes[i]
	if nd.srv != nil {
		return fmt.Errorf("embedded: node %d (%s) is running; StopNode it first", i, nd.cfg.name)
	}
	srv, err := start(ctx, nd.cfg)
	if err != nil {
		return fmt.Errorf("restarting node %d (%s): %w", i, nd.cfg.name, err)
	}
	nd.srv = srv
	return nil
}

// Shutdown stops every running node and waits until they have stopped.
// Storage made by StartCluster (no WithDir) is removed. Calling it more
// than once is safe.
func (c *Cluster) Shutdown() {
	c.mu.Lock()
	running := make([]*Server, 0, len(c.nodes))
	for _, nd := range c.nodes {
		if nd.srv != nil {
			running = append(running, nd.srv)
			nd.srv = nil
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range running {
		wg.Go(s.Shutdown)
	}
	wg.Wait()
	c.removeTemp()
}

func (c *Cluster) removeTemp() {
	if c.tempDir != "" {
		_ = os.RemoveAll(c.tempDir)
	}
}

// MetaLeader returns the index of the node leading the JetStream meta
// group (the one that places streams and consumers), or -1 when there is
// none right now.
func (c *Cluster) MetaLeader() int {
	return c.find(func(ns *server.Server) bool { return ns.JetStreamIsLeader() })
}

// StreamLeader returns the index of the node leading stream (it takes every
// write, so stopping it is the leader-loss fault), or -1 when the stream
// has no leader right now or does not exist.
func (c *Cluster) StreamLeader(stream string) int {
	return c.find(func(ns *server.Server) bool { return ns.JetStreamIsStreamLeader(globalAccount, stream) })
}

// ConsumerLeader returns the index of the node leading a durable consumer
// of stream, or -1 when it has no leader right now or does not exist.
func (c *Cluster) ConsumerLeader(stream, consumer string) int {
	return c.find(func(ns *server.Server) bool {
		return ns.JetStreamIsConsumerLeader(globalAccount, stream, consumer)
	})
}

// find returns the index of the first running node for which is holds.
func (c *Cluster) find(is func(*server.Server) bool) int {
	for i, s := range c.Servers() {
		if s != nil && is(s.NATS()) {
			return i
		}
	}
	return -1
}

// WaitForJetStream waits until the cluster can take JetStream requests: a
// meta leader is elected and every running node is current with it. It
// returns ctx's error, saying what was missing, if that does not happen
// before ctx is done.
func (c *Cluster) WaitForJetStream(ctx context.Context) error {
	return c.waitFor(ctx, "a JetStream meta leader and every running node current", func(running []*server.Server) bool {
		leaders := 0
		for _, ns := range running {
			if ns == nil {
				continue
			}
			if !ns.JetStreamIsCurrent() {
				return false
			}
			if ns.JetStreamIsLeader() {
				leaders++
			}
		}
		return leaders == 1
	})
}

// WaitForStream waits until stream has a leader and every running node
// holds a current replica of it, e.g. after RestartNode, and returns the
// leader's index. A stream with fewer replicas than running nodes is never
// current on all of them: use it for streams replicated on every node.
func (c *Cluster) WaitForStream(ctx context.Context, stream string) (int, error) {
	leader := -1
	err := c.waitFor(ctx, "stream "+stream+" to have a leader and current replicas on every running node", func(running []*server.Server) bool {
		leader = -1
		for i, ns := range running {
			if ns == nil {
				continue
			}
			if !ns.JetStreamIsStreamCurrent(globalAccount, stream) {
				return false
			}
			if ns.JetStreamIsStreamLeader(globalAccount, stream) {
				leader = i
			}
		}
		return leader >= 0
	})
	if err != nil {
		return -1, err
	}
	return leader, nil
}

// waitFor polls ok until it holds or ctx is done. ok gets the nodes'
// nats-servers by index, nil for a stopped node.
func (c *Cluster) waitFor(ctx context.Context, what string, ok func(running []*server.Server) bool) error {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		servers := c.Servers()
		running := make([]*server.Server, len(servers))
		anyRunning := false
		for i, s := range servers {
			if s != nil {
				running[i], anyRunning = s.NATS(), true
			}
		}
		if anyRunning && ok(running) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedded: waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}
