package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/choreo-bus/choreo/bus"
)

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
	case "provision":
		return c.provision(ctx, args[1:]), true
	}
	return 0, false
}

// opsCommand is one operations subcommand being run: its flag set, the
// connection flags, and where it prints.
type opsCommand struct {
	*cli
	name string
	fs   *flag.FlagSet
	conn connFlags
}

// newOps starts an operations command named name ("choreo dlq ls").
func (c *cli) newOps(name string) *opsCommand {
	o := &opsCommand{cli: c, name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	o.conn.register(o.fs)
	return o
}

// parse parses flags and positional arguments in any order ("dlq replay 7
// -dry-run" as well as "dlq replay -dry-run 7"); "--" ends the flags. It
// checks the connection flags and the number of positional arguments
// (max < 0: any number). ok is false when the command must stop, with the
// exit code (0 after -h).
func (o *opsCommand) parse(help string, args []string, min, max int) (pos []string, code int, ok bool) {
	o.fs.SetOutput(io.Discard)
	o.fs.Usage = func() {}
	rest := args
	for {
		err := o.fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(o.stdout, strings.TrimLeft(help, "\n"))
			fmt.Fprint(o.stdout, connHelp)
			fmt.Fprintln(o.stdout, "\nFlags:")
			o.fs.SetOutput(o.stdout)
			o.fs.PrintDefaults()
			return nil, exitOK, false
		}
		if err != nil {
			o.usageError(o.name, err.Error())
			return nil, exitUsage, false
		}
		left := o.fs.Args()
		if len(left) == 0 {
			break
		}
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			pos = append(pos, left...)
			break
		}
		pos, rest = append(pos, left[0]), left[1:]
	}
	switch {
	case len(pos) < min:
		o.usageError(o.name, "missing argument")
		return nil, exitUsage, false
	case max >= 0 && len(pos) > max:
		o.usageError(o.name, fmt.Sprintf("unexpected argument %q", pos[max]))
		return nil, exitUsage, false
	}
	if err := o.conn.check(); err != nil {
		o.usageError(o.name, err.Error())
		return nil, exitUsage, false
	}
	// From here on output carries what others wrote (subjects, headers,
	// payloads, consumer names): no control sequence of theirs reaches
	// the terminal.
	o.cli = &cli{stdout: terminalSafe{o.cli.stdout}, stderr: terminalSafe{o.cli.stderr}}
	return pos, exitOK, true
}

// terminalSafe escapes control characters other than newline and tab (C0,
// DEL and C1, which terminals may take as commands) and invalid UTF-8.
// JSON output passes unchanged but for C1 characters, which become \u
// escapes: still valid JSON, and the same string once decoded.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	clean := true
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if needsEscape(r, size) && p[i] != '\n' && p[i] != '\t' {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return t.w.Write(p)
	}
	var b bytes.Buffer
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case p[i] == '\n' || p[i] == '\t' || !needsEscape(r, size):
			b.Write(p[i : i+size])
		case r >= 0x80 && size > 1:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\x%02x`, p[i])
		}
		i += size
	}
	if _, err := t.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// needsEscape reports whether a decoded rune must not reach a terminal.
func needsEscape(r rune, size int) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == utf8.RuneError && size == 1
}

// usage reports a wrong command line found after parsing.
func (o *opsCommand) usage(format string, args ...any) int {
	o.usageError(o.name, fmt.Sprintf(format, args...))
	return exitUsage
}

// fail reports why the command failed.
func (o *opsCommand) fail(err error) int { return o.failf(o.name, "%v", err) }

// connect dials the server; on failure it prints why and returns nil.
func (o *opsCommand) connect(ctx context.Context) *bus.Bus {
	b, err := o.conn.connect(ctx, o.cli)
	if err != nil {
		o.fail(err)
		return nil
	}
	return b
}

// interruptible makes Ctrl+C and SIGTERM end a command that runs until
// told to stop (tail, status -watch, graph -live -for) through its context,
// so that it deletes what it made on the server and exits 0, rather than
// being killed mid-read. main leaves signals alone for the other commands,
// so that they end at once even when stuck on their input.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// request is a context for one request to the server, bounded by -timeout.
func (o *opsCommand) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.conn.timeout)
}

// emit prints v as one line of JSON.
func (o *opsCommand) emit(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	_, err = o.stdout.Write(data)
	return err
}

// printf prints text output.
func (o *opsCommand) printf(format string, args ...any) { fmt.Fprintf(o.stdout, format, args...) }

// shortID is the end of an id, as the signup example prints them: the
// random end of a UUIDv7, unique enough to tell messages apart on a screen.
func shortID(id string) string {
	if id == "" {
		return "-"
	}
	if len(id) <= 8 {
		return id
	}
	return id[len(id)-8:]
}

// clock is a time for a line of text output: local time with milliseconds,
// and the date when it is not today.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.Local()
	if y, m, d := t.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return t.Format("15:04:05.000")
	}
	return t.Format("2006-01-02 15:04:05.000")
}

// ago says how long ago t was, "-" for never.
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// preview is the start of a payload for one line of text: valid UTF-8 with
// control characters escaped, at most n runes.
func preview(data []byte, n int) string {
	var b strings.Builder
	runes := 0
	for len(data) > 0 && runes < n {
		r, size := utf8.DecodeRune(data)
		first := data[0]
		data = data[size:]
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, first)
		case needsEscape(r, size):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		runes++
	}
	if len(data) > 0 {
		b.WriteString("…")
	}
	return b.String()
}

// jsonData is a payload for JSON output: the JSON itself when it is valid
// JSON, otherwise a string (invalid UTF-8 replaced).
func jsonData(data []byte) any {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && json.Valid(trimmed) {
		return json.RawMessage(trimmed)
	}
	if len(data) == 0 {
		return nil
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// optionalTime is a time for JSON output: nil for the zero time, so the
// field is omitted rather than "0001-01-01T00:00:00Z".
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// sinceFlag turns a -since duration into a start time (zero when unset).
func sinceFlag(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(-d)
}
