package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/choreo-bus/choreo/catalog"
)

const genUsage = `Usage: choreo gen <go|asyncapi|permissions> [flags]

	go            generate Go constants, payload structs and typed topics
	asyncapi      generate AsyncAPI 3.0.0 documents, one per service
	permissions   generate each service's NATS permissions (nats-server config or JSON)

Run 'choreo gen <target> -h' for flags and examples.
`

func (c *cli) gen(args []string) int {
	if len(args) == 0 {
		c.usageError("choreo gen", "missing target; use go, asyncapi or permissions")
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, genUsage)
		return exitOK
	case "go":
		return c.genGo(args[1:])
	case "asyncapi":
		return c.genAsyncAPI(args[1:])
	case "permissions":
		return c.genPermissions(args[1:])
	default:
		c.usageError("choreo gen", fmt.Sprintf("unknown target %q; use go, asyncapi or permissions", args[0]))
		return exitUsage
	}
}

// catalogFlag registers the -catalog flag every catalog command shares.
func catalogFlag(fs *flag.FlagSet) *string {
	return fs.String("catalog", "catalog.yaml", "catalog `file` to read")
}

// load reads a catalog, printing why it cannot when it cannot: each problem
// of an invalid catalog as "file:line: message", or the I/O error.
func (c *cli) load(cmd, path string) (*catalog.Catalog, bool) {
	cat, err := catalog.Load(path)
	if err == nil {
		return cat, true
	}
	c.reportError(cmd, err)
	return nil, false
}

// reportError prints err: catalog diagnostics one per line as they are,
// anything else prefixed with the command name.
func (c *cli) reportError(cmd string, err error) {
	var invalid *catalog.Error
	switch {
	case errors.As(err, &invalid):
		printDiagnostics(c.stderr, invalid.Diagnostics)
	case errors.Is(err, fs.ErrNotExist):
		c.errorLine(fmt.Sprintf("%s: %v (name the catalog with -catalog FILE)", cmd, err))
	default:
		c.errorLine(fmt.Sprintf("%s: %v", cmd, err))
	}
}

// printDiagnostics prints the first catalog.MaxListed diagnostics, one per
// line, and a last line counting the others: a hostile or broken catalog
// can have hundreds of thousands of findings, and the first show what to
// fix.
func printDiagnostics(w io.Writer, ds []catalog.Diagnostic) {
	for i, d := range ds {
		if i == catalog.MaxListed {
			fmt.Fprintln(w, catalog.MoreLine(len(ds)-i))
			return
		}
		fmt.Fprintln(w, d)
	}
}

const genGoHelp = `
Usage: choreo gen go [-catalog FILE] [-out FILE] [-package NAME]

Generates Go code from the catalog: a constant per topic name
(TopicUserSignupV1), a payload struct per topic with fields (UserSignupV1),
and a typed topic per topic (UserSignupV1Command, UserSignedupV1Event) for
bus.Send, bus.Publish, bus.HandleCommand and bus.Subscribe. The output is
gofmt'ed and byte-for-byte stable; a file that would not change is not
rewritten.

Example, in a file next to the generated code:

	//go:generate go run github.com/choreo-bus/choreo/cmd/choreo gen go -catalog ../catalog.yaml -out topics.go
`

func (c *cli) genGo(args []string) int {
	const cmd = "choreo gen go"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	path := catalogFlag(fs)
	out := fs.String("out", "", "Go `file` to write (default: standard output)")
	pkg := fs.String("package", "", "Go package `name` of the generated file (default: the catalog's package, else topics)")
	if code, ok := c.parse(fs, genGoHelp, args); !ok {
		return code
	}
	if reason := checkOut(*path, *out); reason != "" {
		c.usageError(cmd, reason)
		return exitUsage
	}
	cat, ok := c.load(cmd, *path)
	if !ok {
		return exitFail
	}
	var opts []catalog.GoOption
	if *pkg != "" {
		opts = append(opts, catalog.WithPackage(*pkg))
	}
	src, err := catalog.GenerateGo(cat, opts...)
	if err != nil {
		c.reportError(cmd, err)
		return exitFail
	}
	if err := c.writeOutput(*out, src); err != nil {
		return c.failf(cmd, "%v", err)
	}
	return exitOK
}

const genAsyncAPIHelp = `
Usage: choreo gen asyncapi [-catalog FILE] (-service NAME [-out FILE] | -all -out DIR) [flags]

Generates an AsyncAPI 3.0.0 document describing what a service sends and
receives: channels addressed by wire subject (cmd.v1.user.signup), send and
receive operations from the service's point of view, and messages with
JSON Schema payloads, the CloudEvents headers and a correlation ID. With
-all, writes DIR/<service>.asyncapi.yaml (or .json) for every service.
An -out file ending in .json gets JSON, anything else YAML.

Examples:

	choreo gen asyncapi -catalog catalog.yaml -service accounts -out accounts.asyncapi.yaml
	choreo gen asyncapi -catalog catalog.yaml -all -out api/
`

func (c *cli) genAsyncAPI(args []string) int {
	const cmd = "choreo gen asyncapi"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	path := catalogFlag(fs)
	service := fs.String("service", "", "`name` of the service to describe")
	all := fs.Bool("all", false, "describe every service, one file each in the -out directory")
	out := fs.String("out", "", "`file` to write, or with -all the directory (default: standard output)")
	format := fs.String("format", "", "output `format`: yaml or json (default: from the -out extension, else yaml)")
	namespace := fs.String("namespace", "", "subject `prefix` as set with bus.WithNamespace (default: none)")
	server := fs.String("server", "", "NATS `host:port` to list under servers (default: no servers)")
	version := fs.String("version", "1.0.0", "info.version of the documents")
	if code, ok := c.parse(fs, genAsyncAPIHelp, args); !ok {
		return code
	}
	switch {
	case *all && *service != "":
		c.usageError(cmd, "give -service NAME or -all, not both")
		return exitUsage
	case !*all && *service == "":
		c.usageError(cmd, "missing -service NAME (or -all for every service)")
		return exitUsage
	case *all && (*out == "" || *out == "-"):
		c.usageError(cmd, "-all needs -out DIR to write one file per service into")
		return exitUsage
	case *format != "" && *format != "yaml" && *format != "json":
		c.usageError(cmd, fmt.Sprintf("-format %q: use yaml or json", *format))
		return exitUsage
	}
	for _, reason := range []string{checkServer(*server), checkVersion(*version), checkOut(*path, *out)} {
		if reason != "" {
			c.usageError(cmd, reason)
			return exitUsage
		}
	}
	asJSON := *format == "json" || *format == "" && !*all && strings.EqualFold(filepath.Ext(*out), ".json")
	opts := []catalog.AsyncAPIOption{
		catalog.WithNamespace(*namespace), catalog.WithServer(*server), catalog.WithInfoVersion(*version),
	}
	if asJSON {
		opts = append(opts, catalog.WithJSON())
	}
	cat, ok := c.load(cmd, *path)
	if !ok {
		return exitFail
	}
	if !*all {
		doc, err := catalog.GenerateAsyncAPI(cat, *service, opts...)
		if err != nil {
			c.reportError(cmd, err)
			return exitFail
		}
		if err := c.writeOutput(*out, doc); err != nil {
			return c.failf(cmd, "%v", err)
		}
		return exitOK
	}
	if len(cat.Services) == 0 {
		return c.failf(cmd, "%s declares no services; add a services section to describe them", cat.File)
	}
	// Every document is generated before any is written: a catalog that
	// fails for one service leaves the directory as it was, and the total,
	// like each document, stays within catalog.MaxOutputSize however many
	// services the catalog declares.
	docs := make(map[string][]byte, len(cat.Services))
	total := 0
	for _, s := range cat.Services {
		doc, err := catalog.GenerateAsyncAPI(cat, s.Name, opts...)
		if err != nil {
			c.reportError(cmd, err)
			return exitFail
		}
		name := catalog.AsyncAPIFileName(s.Name, asJSON)
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			return c.failf(cmd, "service %q does not make a file name; name services with letters, digits, - and _", s.Name)
		}
		if total += len(doc); total > catalog.MaxOutputSize {
			return c.failf(cmd, "%v: the %d services of %s make more than %d MiB of AsyncAPI documents, the limit (MaxOutputSize); split the system into several catalogs", catalog.ErrTooLarge, len(cat.Services), cat.File, catalog.MaxOutputSize>>20)
		}
		docs[name] = doc
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return c.failf(cmd, "%v", err)
	}
	for _, s := range cat.Services {
		name := catalog.AsyncAPIFileName(s.Name, asJSON)
		if err := writeFileAtomic(filepath.Join(*out, name), docs[name]); err != nil {
			return c.failf(cmd, "%v", err)
		}
	}
	return exitOK
}
