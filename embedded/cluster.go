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
)

// Cluster is a JetStream cluster of in-process nats-servers on loopback,
// for tests that need replication and failover: streams with 3 replicas,
// a stream leader that goes away, a server that comes back. Every node
// keeps its name, client port, cluster port and storage directory for the
// life of the Cluster, so a node stopped with StopNode and started again
// with RestartNode rejoins as the same peer with its data.
//
// Nodes reach each other through loopback links owned by the Cluster
// rather than directly, so that CrashNode can cut a node off at once, as a
// crash or a network partition would; StopNode is the graceful
// counterpart.
//
// Its methods are safe for concurrent use.
type Cluster struct {
	tempDir string    // removed by Shutdown; empty when the caller owns the dir
	links   [][]*link // links[i][j] carries routes from node i to node j
	hole    *blackhole

	mu    sync.Mutex
	nodes []*clusterNode
}

// clusterNode is one member: its fixed configuration and, while it runs,
// its server.
type clusterNode struct {
	cfg config
	op  sync.Mutex // serializes StopNode, CrashNode and RestartNode of the node
	srv *Server    // nil while stopped; guarded by Cluster.mu
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
	nodes, err := c.plan(base, n, root)
	if err != nil {
		c.Shutdown()
		return nil, err
	}

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

// plan fixes every node's name, ports, routes and storage directory, and
// opens the links the routes go through.
func (c *Cluster) plan(base config, n int, root string) ([]*clusterNode, error) {
	// The links and the blackhole take their ports first, then every node
	// port is picked in one go, so no two of them can be the same.
	var err error
	if c.hole, err = newBlackhole(); err != nil {
		return nil, err
	}
	c.links = make([][]*link, n)
	for i := range n {
		c.links[i] = make([]*link, n)
		for j := range n {
			if i == j {
				continue
			}
			if c.links[i][j], err = newLink(); err != nil {
				return nil, err
			}
		}
	}
	free := 2 * n
	if base.port != 0 {
		free = n
	}
	ports, err := freePorts(free)
	if err != nil {
		return nil, err
	}
	clusterPorts, clientPorts := ports[:n], ports[n:]
	if base.port != 0 {
		clientPorts = make([]int, n)
		for i := range clientPorts {
			clientPorts[i] = base.port + i
		}
	}
	for i := range n {
		for j := range n {
			if i != j {
				c.links[i][j].setTarget("127.0.0.1:" + strconv.Itoa(clusterPorts[j]))
			}
		}
	}
	c.nodes = make([]*clusterNode, n)
	for i := range c.nodes {
		cfg := base
		cfg.name = base.name + "-" + strconv.Itoa(i)
		cfg.dir = filepath.Join(root, cfg.name)
		cfg.port = clientPorts[i]
		cfg.clusterName = base.name
		cfg.clusterPort = clusterPorts[i]
		cfg.clusterAdvertise = c.hole.addr()
		cfg.routes = nil
		for j, k := range c.links[i] {
			if j != i {
				cfg.routes = append(cfg.routes, k.url())
			}
		}
		if base.logger != nil {
			cfg.logger = base.logger.With("server", cfg.name)
		}
		c.nodes[i] = &clusterNode{cfg: cfg}
	}
	return c.nodes, nil
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
func (c *Cluster) StopNode(i int) error { return c.takeDown(i, false) }

// CrashNode takes node i away the way a crash or a network partition does:
// every route connection between it and its peers drops at once, so it
// hands nothing over and its peers notice only when their own timeouts
// fire (electing new leaders takes seconds, not milliseconds as after
// StopNode); then it stops, which drops its clients' connections. What it
// had written to its storage stays, as it would on a disk, for
// RestartNode. Crashing a stopped node is an error.
func (c *Cluster) CrashNode(i int) error { return c.takeDown(i, true) }

// takeDown stops node i, cutting its links first when crash is set, and
// returns when it has stopped.
func (c *Cluster) takeDown(i int, crash bool) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.op.Lock()
	defer nd.op.Unlock()
	c.mu.Lock()
	srv := nd.srv
	nd.srv = nil
	if srv != nil && crash {
		c.eachLink(i, (*link).cut)
	}
	c.mu.Unlock()
	if srv == nil {
		return fmt.Errorf("choreo/embedded: node %d (%s) is already stopped", i, nd.cfg.name)
	}
	srv.Shutdown()
	return nil
}

// node returns node i, or an error naming the valid indexes.
func (c *Cluster) node(i int) (*clusterNode, error) {
	if i < 0 || i >= len(c.nodes) {
		return nil, fmt.Errorf("choreo/embedded: node %d does not exist; the cluster has nodes 0 to %d", i, len(c.nodes)-1)
	}
	return c.nodes[i], nil
}

// eachLink calls f for every link from or to node i. c.mu must be held.
func (c *Cluster) eachLink(i int, f func(*link)) {
	for j := range c.links {
		if j == i {
			continue
		}
		if k := c.links[i][j]; k != nil {
			f(k)
		}
		if k := c.links[j][i]; k != nil {
			f(k)
		}
	}
}

// RestartNode starts stopped node i again with its name, ports and storage,
// and waits until it accepts connections (at most ctx's deadline, or 10
// seconds). It rejoins the cluster and catches up on its own; call
// WaitForJetStream (or WaitForStream) to wait for that.
func (c *Cluster) RestartNode(ctx context.Context, i int) error {
	nd, err := c.node(i)
	if err != nil {
		return err
	}
	nd.op.Lock()
	defer nd.op.Unlock()
	c.mu.Lock()
	running := nd.srv != nil
	if !running {
		c.eachLink(i, (*link).restore) // after CrashNode
	}
	c.mu.Unlock()
	if running {
		return fmt.Errorf("choreo/embedded: node %d (%s) is running; StopNode it first", i, nd.cfg.name)
	}
	srv, err := start(ctx, nd.cfg)
	if err != nil {
		return fmt.Errorf("restarting node %d (%s): %w", i, nd.cfg.name, err)
	}
	c.mu.Lock()
	nd.srv = srv
	c.mu.Unlock()
	return nil
}

// Shutdown stops every running node and waits until they have stopped.
// Storage made by StartCluster (no WithDir) is removed. Calling it more
// than once is safe.
func (c *Cluster) Shutdown() {
	// Wait for node operations under way; none can start after this.
	for _, nd := range c.nodes {
		nd.op.Lock()
		defer nd.op.Unlock()
	}
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
	c.closeLinks()
	c.removeTemp()
}

// closeLinks stops every link and the blackhole; safe to call again.
func (c *Cluster) closeLinks() {
	c.mu.Lock()
	links, hole := c.links, c.hole
	c.links, c.hole = nil, nil
	c.mu.Unlock()
	for _, row := range links {
		for _, k := range row {
			if k != nil {
				k.close()
			}
		}
	}
	if hole != nil {
		hole.close()
	}
}

func (c *Cluster) removeTemp() {
	if c.tempDir != "" {
		_ = os.RemoveAll(c.tempDir)
	}
}
