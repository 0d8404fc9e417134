package main

import (
	"flag"
	"fmt"

	"github.com/choreo-bus/choreo/catalog/permissions"
	"github.com/choreo-bus/choreo/topic"
)

const genPermissionsHelp = `
Usage: choreo gen permissions [-catalog FILE] [-service NAME] [-format nats-conf|json] [-namespace NS] [-out FILE]

Derives from the catalog the NATS permissions of every service, and of
nothing more than it needs: publishing its own commands and events, the
JetStream API requests the bus makes for its own streams and consumers,
acknowledging its own consumers' messages, parking and reading its own
consumers' dead letters, the subjects of its own inbox bucket (a service
with "inbox: true"), and replies on its own inbox prefix. No service may
create, change or delete a stream or consumer: run them with
bus.WithoutProvisioning() after 'choreo provision'.

-format nats-conf (the default) writes an authorization block that
nats-server ('nats-server -c FILE', or an include) and 'choreo dev -config
FILE' load as is: one user per service, named after it, with the password
taken from the environment variable its block names
(CHOREO_PASSWORD_<SERVICE>), so the file holds no secret; without -service
it adds the unrestricted user choreo-operator for 'choreo provision' and the
operations commands. Each service must connect with its own reply prefix,
nats.CustomInboxPrefix("_INBOX_<service>"), which the block names.

-format json writes the same lists for other tooling, e.g. nsc-managed
accounts (see the README's Security section).

The output is byte-for-byte stable; a new service adds its own block.

Examples:

	choreo gen permissions -catalog catalog.yaml -out permissions.conf
	choreo gen permissions -catalog catalog.yaml -service email -format json
`

func (c *cli) genPermissions(args []string) int {
	const cmd = "choreo gen permissions"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	path := catalogFlag(fs)
	service := fs.String("service", "", "`name` of the one service to generate (default: every service and the operator)")
	format := fs.String("format", "nats-conf", "output `format`: nats-conf or json")
	namespace := fs.String("namespace", "", "subject `prefix` as set with bus.WithNamespace (default: none)")
	out := fs.String("out", "", "`file` to write (default: standard output)")
	if code, ok := c.parse(fs, genPermissionsHelp, args); !ok {
		return code
	}
	if *format != "nats-conf" && *format != "json" {
		c.usageError(cmd, fmt.Sprintf("-format %q: use nats-conf or json", *format))
		return exitUsage
	}
	if err := topic.ValidateNamespace(*namespace); err != nil {
		c.usageError(cmd, fmt.Sprintf("-namespace: %v", err))
		return exitUsage
	}
	if reason := checkOut(*path, *out); reason != "" {
		c.usageError(cmd, reason)
		return exitUsage
	}
	cat, ok := c.load(cmd, *path)
	if !ok {
		return exitFail
	}
	set, err := permissions.Derive(cat, *namespace, *service)
	if err != nil {
		c.reportError(cmd, err)
		return exitFail
	}
	data := permissions.JSON(set)
	if *format == "nats-conf" {
		data = permissions.NATSConf(set, *service == "")
	}
	if err := c.writeOutput(*out, data); err != nil {
		return c.failf(cmd, "%v", err)
	}
	return exitOK
}
