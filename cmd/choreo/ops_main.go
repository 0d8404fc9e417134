package main

import "context"

// ops runs an operations command (see ops_conn.go), reporting ok false when
// args names none, so run goes on with the design-time commands.
func (c *cli) ops(ctx context.Context, args []string) (code int, ok bool) {
	switch args[0] {
	case "dlq":
		return c.dlq(ctx, args[1:]), true
	case "tail":
		return c.tail(ctx, args[1:]), true
	case "trace":
		return c.trace(ctx, args[1:]), true
	case "graph":
		if isLiveGraph(args[1:]) {
			return c.liveGraph(ctx, args[1:]), true
		}
	case "status":
		return c.status(ctx, args[1:]), true
	case "groups":
		return c.groups(ctx, args[1:]), true
	}
	return 0, false
}
