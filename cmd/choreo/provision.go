package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/catalog/permissions"
)

const provisionHelp = `
Usage: choreo provision [-catalog FILE] [-dry-run] [-replicas N] [connection flags]

Creates or updates, with an operator's rights, everything the catalog
implies on the server: the stream of every topic sent or published, the
durable consumer of every handling service and subscriber group, the
dead-letter stream, the stream capturing each topic stream's max-deliveries
advisories with each group's converter consumer there, and the inbox
bucket of every service with "inbox: true". It prints one line per stream,
consumer and bucket: create, update (shared settings such as replicas or
max age are only ever raised, never lowered) or unchanged. -dry-run prints
the plan and changes nothing. Settings that cannot change in place (a
stream's retention, a consumer's ack policy) stop it with an error.

Services then run with bus.WithoutProvisioning() and the permissions of
'choreo gen permissions', which let them use all this but create, change
or delete none of it. Run it again after every catalog change, before the
services that need the change are deployed.

Examples:

	choreo provision -catalog catalog.yaml -dry-run -user choreo-operator
	NATS_PASSWORD=... choreo provision -catalog catalog.yaml -user choreo-operator -replicas 3
`

func (c *cli) provision(ctx context.Context, args []string) int {
	o := c.newOps("choreo provision")
	path := catalogFlag(o.fs)
	dryRun := o.fs.Bool("dry-run", false, "print what would change and change nothing")
	replicas := o.fs.Int("replicas", 1, "replica `count` of what is created (3 on a three-node cluster); existing streams are only raised to it")
	if _, code, ok := o.parse(provisionHelp, args, 0, 0); !ok {
		return code
	}
	if *replicas < 1 || *replicas > 5 {
		c.usageError(o.name, fmt.Sprintf("-replicas %d: use 1 to 5", *replicas))
		return exitUsage
	}
	cat, ok := c.load(o.name, *path)
	if !ok {
		return exitFail
	}
	plan, err := permissions.PlanOf(cat, o.conn.namespace)
	if err != nil {
		c.reportError(o.name, err)
		return exitFail
	}
	plan.Replicas = *replicas
	b, err := o.conn.connect(ctx, c, bus.WithReplicas(*replicas))
	if err != nil {
		return c.failf(o.name, "%v", err)
	}
	defer closeBus(b)
	counts := map[string]int{}
	report := func(line string) {
		action, _, _ := strings.Cut(line, " ")
		counts[action]++
		if *dryRun && action != string(bus.ActionUnchanged) {
			line = "would " + line
		}
		fmt.Fprintln(c.stdout, line)
	}
	rctx, cancel := context.WithTimeout(ctx, o.conn.timeout*time.Duration(max(1, len(plan.Requirements)+len(plan.Buckets))))
	defer cancel()
	err = permissions.Provision(rctx, b, plan, *dryRun, report)
	verb := "created %d, updated %d, unchanged %d"
	if *dryRun {
		verb = "would create %d, would update %d, unchanged %d"
	}
	fmt.Fprintf(c.stdout, "choreo provision: "+verb+"\n", counts[string(bus.ActionCreated)], counts[string(bus.ActionUpdated)], counts[string(bus.ActionUnchanged)])
	if err != nil {
		return c.failf(o.name, "%v", err)
	}
	return exitOK
}
