package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/choreo-bus/choreo/catalog"
)

// Exit codes.
const (
	exitOK    = 0 // success (lint: no errors, warnings allowed)
	exitFail  = 1 // the work failed: invalid catalog, lint errors, I/O errors
	exitUsage = 2 // the command line was wrong
)

func main() {
	ctx, stop := context.Background(), context.CancelFunc(func() {})
	if len(os.Args) > 1 && os.Args[1] == "dev" {
		// dev runs until told to stop and then shuts its server down
		// cleanly. The other commands keep the default handling, so that
		// Ctrl+C or SIGTERM ends them at once: catching the signal for
		// them, as for dev, made a command stuck on its input (a pipe
		// given as -catalog) impossible to interrupt.
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one choreo command line (without the program name) and
// returns the process exit code. ctx ends long-running commands (dev).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		c.usageError("choreo", "missing command")
		return exitUsage
	}
	if code, ok := c.ops(ctx, args); ok {
		return code
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	case "gen":
		return c.gen(args[1:])
	case "lint":
		return c.lint(args[1:])
	case "graph":
		return c.graph(args[1:])
	case "dev":
		return c.dev(ctx, args[1:])
	default:
		c.usageError("choreo", fmt.Sprintf("unknown command %q", args[0]))
		return exitUsage
	}
}

const topUsage = `choreo works with a choreo topic catalog: it generates Go code and AsyncAPI
contracts from it, checks it, draws it, and runs a local JetStream server.

Usage:

	choreo <command> [flags]

Commands:

	gen go         generate Go constants, payload structs and typed topics
	gen asyncapi   generate AsyncAPI 3.0.0 documents, one per service
	lint           check a catalog, and with -against, breaking changes
	graph          draw services and topics as a Mermaid or Graphviz graph
	gen permissions  each service's NATS permissions, derived from the catalog
	dev            run an embedded NATS server with JetStream in the foreground

Operations, against a running NATS server (-server, default $NATS_URL):

	tail           print messages as they pass, or from the streams' history
	dlq            list, show, replay and purge dead letters; group them by reason
	status         lag, rate and a scaling recommendation per consumer group
	trace          the causal tree of one correlation id across services
	groups         list consumer groups; remove an orphaned one
	graph -live    the choreography as observed on the bus, and its drift from a catalog
	provision      create the streams and consumers a catalog implies (as the operator)

Run 'choreo <command> -h' for a command's flags and an example.
`

// cli holds the output streams of one run.
type cli struct {
	stdout, stderr io.Writer
}

// usageError prints a one-line reason for a wrong command line.
func (c *cli) usageError(cmd, reason string) {
	c.errorLine(fmt.Sprintf("%s: %s (run '%s -h' for help)", cmd, reason, cmd))
}

// failf prints why a command failed.
func (c *cli) failf(cmd, format string, args ...any) int {
	c.errorLine(fmt.Sprintf("%s: %s", cmd, fmt.Sprintf(format, args...)))
	return exitFail
}

// errorLine prints one line to standard error. Messages quote flag values
// and file names, which come from whoever wrote the command line (a
// go:generate directive, a CI script): any line break, control or
// bidirectional character in them is printed as an escape, so that they
// can neither forge further lines nor send terminal control sequences.
func (c *cli) errorLine(line string) {
	fmt.Fprintln(c.stderr, catalog.EscapeText(line))
}

// parse parses flags for the command fs.Name(). It returns ok=false with the
// exit code when the command must stop: after printing help (-h, exit 0) or
// a one-line usage error (exit 2). help is the text shown above the flags.
func (c *cli) parse(fs *flag.FlagSet, help string, args []string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, strings.TrimLeft(help, "\n"))
		fmt.Fprintln(c.stdout, "\nFlags:")
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		return exitOK, false
	case err != nil:
		c.usageError(fs.Name(), err.Error())
		return exitUsage, false
	case fs.NArg() > 0:
		c.usageError(fs.Name(), fmt.Sprintf("unexpected argument %q; every input is given by a flag", fs.Arg(0)))
		return exitUsage, false
	}
	return exitOK, true
}

// writeOutput writes data to path, or to stdout when path is "" or "-". A
// file whose content is already data is left untouched, so go generate
// does not bump modification times; otherwise the file is replaced
// atomically.
func (c *cli) writeOutput(path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := c.stdout.Write(data)
		return err
	}
	return writeFileAtomic(path, data)
}
