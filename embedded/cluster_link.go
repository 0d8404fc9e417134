package embedded

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
)

// A link carries the route connections from one node to another through a
// loopback listener of its own, so that the cluster can cut them at once
// (CrashNode) the way a crash or a network partition does: the peer learns
// nothing until its own timeouts fire. Nodes route to each other only
// through links; see planLinks.
type link struct {
	l net.Listener

	mu     sync.Mutex
	target string // the destination node's cluster address
	down   bool   // cut: new connections are closed at once
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// newLink listens on a free loopback port and, once its target is set,
// forwards every connection to it until close.
func newLink() (*link, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: opening a route link: %v", ErrStart, err)
	}
	k := &link{l: l, conns: make(map[net.Conn]struct{})}
	k.wg.Go(k.accept)
	return k, nil
}

// setTarget sets the address connections are forwarded to.
func (k *link) setTarget(addr string) {
	k.mu.Lock()
	k.target = addr
	k.mu.Unlock()
}

// url is the route URL that reaches the target through the link.
func (k *link) url() string {
	return "nats-route://127.0.0.1:" + strconv.Itoa(k.l.Addr().(*net.TCPAddr).Port)
}

func (k *link) accept() {
	for {
		in, err := k.l.Accept()
		if err != nil {
			return // closed
		}
		if !k.track(in) {
			in.Close()
			continue
		}
		k.wg.Go(func() { k.forward(in) })
	}
}

// forward copies both ways between in and a new connection to the target
// until either side closes or the link is cut.
func (k *link) forward(in net.Conn) {
	defer k.untrack(in)
	k.mu.Lock()
	target := k.target
	k.mu.Unlock()
	out, err := net.Dial("tcp", target)
	if err != nil {
		in.Close()
		return
	}
	if !k.track(out) {
		in.Close()
		out.Close()
		return
	}
	defer k.untrack(out)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// One direction ended: end the other too, as a dropped TCP
		// connection would.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(out, in)
	go pipe(in, out)
	<-done
	<-done
}

// track registers c, or reports false when the link is cut.
func (k *link) track(c net.Conn) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down {
		return false
	}
	k.conns[c] = struct{}{}
	return true
}

func (k *link) untrack(c net.Conn) {
	k.mu.Lock()
	delete(k.conns, c)
	k.mu.Unlock()
}

// cut drops every connection on the link and refuses new ones until
// restore.
func (k *link) cut() {
	k.mu.Lock()
	k.down = true
	for c := range k.conns {
		c.Close()
	}
	k.mu.Unlock()
}

// restore lets connections through again.
func (k *link) restore() {
	k.mu.Lock()
	k.down = false
	k.mu.Unlock()
}

// close stops the link for good and waits for its goroutines.
func (k *link) close() {
	k.l.Close()
	k.cut()
	k.wg.Wait()
}

// blackhole is a listener that closes every connection it accepts. Nodes
// advertise it as their cluster address, so a node that learns of a peer
// through gossip cannot open a route around the links (which CrashNode
// could not cut); the configured routes through the links are the only
// ones that work.
type blackhole struct {
	l  net.Listener
	wg sync.WaitGroup
}

func newBlackhole() (*blackhole, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: opening a listener: %v", ErrStart, err)
	}
	b := &blackhole{l: l}
	b.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	return b, nil
}

func (b *blackhole) addr() string { return b.l.Addr().String() }

func (b *blackhole) close() {
	b.l.Close()
	b.wg.Wait()
}
