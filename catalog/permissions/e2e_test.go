package permissions_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/bus/bustest"
	"github.com/choreo-bus/choreo/catalog"
	"github.com/choreo-bus/choreo/catalog/permissions"
	"github.com/choreo-bus/choreo/embedded"
	"github.com/choreo-bus/choreo/topic"
)

const jobsCatalog = `version: 1
topics:
  v1.job.run:
    kind: command
    payload: {id: string}
services:
  boss: {sends: [v1.job.run]}
  worker: {handles: [v1.job.run]}
`

type job struct {
	ID string `json:"id"`
}

var runJob = topic.MustCommand[job]("v1.job.run")

// TestCrashedHandlerUnderPermissions: a handler that never answers on its
// last delivery is dead-lettered by its own service's advisory converter,
// which the generated permissions allow (reading the advisory, verifying
// it, parking the message and removing the command from its work queue),
// and the service reads its own dead letters.
func TestCrashedHandlerUnderPermissions(t *testing.T) {
	cat, err := catalog.Parse("jobs.yaml", []byte(jobsCatalog))
	require.NoError(t, err)
	set, err := permissions.Derive(cat, "", "")
	require.NoError(t, err)
	conf := filepath.Join(t.TempDir(), "jobs.conf")
	data := permissions.NATSConf(set, true)
	require.NoError(t, os.WriteFile(conf, data, 0o600))
	for _, u := range []string{"boss", "worker", permissions.OperatorUser} {
		t.Setenv(permissions.PasswordVar(u), "pw-"+u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.WithConfigFile(conf))
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown) // after the buses close: cleanups run last in, first out

	var mu sync.Mutex
	var denied []string
	connect := func(user string, opts ...bus.Option) *bus.Bus {
		natsOpts := []nats.Option{nats.UserInfo(user, "pw-"+user), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			mu.Lock()
			denied = append(denied, user+": "+err.Error())
			mu.Unlock()
		})}
		if user != permissions.OperatorUser {
			natsOpts = append(natsOpts, nats.CustomInboxPrefix(topic.InboxPrefix("", user)))
			opts = append(opts, bus.WithoutProvisioning())
		}
		b, err := bus.Connect(ctx, srv.ClientURL(), append(opts, bus.WithSource(user), bus.WithLogger(bustest.Logger(t)), bus.WithNATSOptions(natsOpts...))...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return b
	}

	// The operator provisions with the worker's settings: one delivery,
	// a one-second ack wait.
	plan, err := permissions.PlanOf(cat, "")
	require.NoError(t, err)
	quick := []bus.SubscribeOption{bus.WithMaxDeliver(1), bus.WithAckWait(time.Second)}
	for i := range plan.Requirements {
		plan.Requirements[i].Options = quick
	}
	var report bytes.Buffer
	require.NoError(t, permissions.Provision(ctx, connect(permissions.OperatorUser), plan, false, func(l string) { report.WriteString(l + "\n") }))

	worker := connect("worker")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the worker's bus closes
	started := make(chan struct{}, 1)
	_, err = bus.HandleCommand(ctx, worker, runJob, func(context.Context, *bus.Message[job]) error {
		started <- struct{}{}
		<-release // a crash: no outcome, whatever the context says
		return nil
	}, quick...)
	require.NoError(t, err)
	_, err = bus.Send(ctx, connect("boss"), runJob, job{ID: "j1"})
	require.NoError(t, err)
	<-started

	var dead bus.DeadLetter
	require.Eventually(t, func() bool {
		for dl, err := range worker.DeadLetters(ctx, bus.DeadLetterFilter{Consumer: topic.ConsumerName("worker", runJob.Name())}) {
			if err == nil {
				dead = dl
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "the crashed command was never dead-lettered")
	assert.Contains(t, dead.Reason, "max deliveries")
	require.Eventually(t, func() bool {
		info, err := worker.JetStream().Stream(ctx, "CMD_job")
		return err == nil && info.CachedInfo().State.Msgs == 0
	}, 10*time.Second, 20*time.Millisecond, "the parked command left its work queue")
	mu.Lock()
	defer mu.Unlock()
	for _, d := range denied {
		assert.NotContains(t, strings.ToLower(d), "permissions violation")
	}
}
