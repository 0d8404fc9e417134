package embedded

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// globalAccount is the account every client of an embedded server uses:
// there is no authentication, so all streams live in nats-server's global
// account.
const globalAccount = server.DEFAULT_GLOBAL_ACCOUNT

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
// meta leader is elected, every running node is current with it, and the
// leader has heard from every running node (it places a stream's replicas
// only on nodes it has; before that, creating a stream replicated on every
// node fails with "no suitable peers for placement"). It returns ctx's
// error, saying what was missing, if that does not happen before ctx is
// done.
func (c *Cluster) WaitForJetStream(ctx context.Context) error {
	what := "a JetStream meta leader, every running node current, and the leader able to place streams on each"
	return c.waitFor(ctx, what, func(running []*server.Server) bool {
		var leader *server.Server
		for _, ns := range running {
			if ns == nil {
				continue
			}
			if !ns.JetStreamIsCurrent() {
				return false
			}
			if ns.JetStreamIsLeader() {
				if leader != nil {
					return false
				}
				leader = ns
			}
		}
		if leader == nil {
			return false
		}
		placeable := leader.JetStreamClusterPeers()
		for _, ns := range running {
			if ns != nil && !slices.Contains(placeable, ns.Name()) {
				return false
			}
		}
		return true
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
			return fmt.Errorf("choreo/embedded: waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}
