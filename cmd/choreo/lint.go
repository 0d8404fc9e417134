package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/choreo-bus/choreo/catalog"
)

const lintHelp = `
Usage: choreo lint [-catalog FILE] [-against OLD_FILE]

Checks the catalog and prints one line per finding, "file:line: message"
for errors and "file:line: warning: message" for warnings, the first 100
of them and then a count of the rest. Exits 1 when there is an error, 0
when there are only warnings or nothing.

Errors: topic grammar; a known verb whose tense contradicts the declared
kind (v1.user.signup as an event), or an ambiguous verb (reset) without a
kind; a command handled by no service or by several; a service naming an
undeclared topic, or handling an event or publishing a command; an unknown
field type; two fields with the same Go name. Warnings: a verb the tense
rules do not know (a state such as v1.stock.low), which they cannot check,
with a suggestion where the spelling gives one, until the topic says
skip_tense_check: true; a skip_tense_check that is not needed; an event
nobody publishes or subscribes to; a gap between versions of a topic.

With -against, the catalog is also compared with an older version of
itself: a field removed, renamed or retyped in an existing topic version is
a breaking change (an error that says which version to bump to); and a
service that newly publishes an event of an entity other services publish
is a warning, because the permissions of 'choreo gen permissions' widen
with it. In CI, compare a pull request with its base branch, and fail on
the warning if privilege changes need a second review:

	git show origin/main:catalog.yaml > /tmp/base.yaml
	choreo lint -catalog catalog.yaml -against /tmp/base.yaml | tee lint.txt
	! grep -q 'NATS permissions widen' lint.txt

Examples:

	choreo lint -catalog catalog.yaml
	git show main:catalog.yaml > /tmp/old.yaml && choreo lint -catalog catalog.yaml -against /tmp/old.yaml
`

func (c *cli) lint(args []string) int {
	const cmd = "choreo lint"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	path := catalogFlag(fs)
	against := fs.String("against", "", "older catalog `file` to check for breaking changes (default: none)")
	if code, ok := c.parse(fs, lintHelp, args); !ok {
		return code
	}
	// Findings go to standard output, including those that stop a file
	// from parsing at all; only I/O problems go to standard error.
	cur, diags, ok := c.lintLoad(cmd, *path)
	if !ok {
		return exitFail
	}
	if cur != nil {
		diags = catalog.Lint(cur)
		if *against != "" {
			old, oldDiags, ok := c.lintLoad(cmd, *against)
			if !ok {
				return exitFail
			}
			diags = append(diags, oldDiags...)
			if old != nil {
				diags = append(diags, catalog.Breaking(old, cur)...)
				diags = append(diags, catalog.Widening(old, cur)...)
			}
			catalog.SortDiagnostics(diags)
		}
	}
	printDiagnostics(c.stdout, diags)
	errs, warns := 0, 0
	for _, d := range diags {
		if d.Severity == catalog.SeverityError {
			errs++
		} else {
			warns++
		}
	}
	if errs > 0 {
		fmt.Fprintf(c.stderr, "%s: %s, %s\n", cmd, plural(errs, "error"), plural(warns, "warning"))
		return exitFail
	}
	return exitOK
}

// lintLoad loads path for linting. A file that does not parse yields a nil
// catalog and its parse diagnostics; ok is false only when the file cannot
// be read (the reason is printed).
func (c *cli) lintLoad(cmd, path string) (*catalog.Catalog, []catalog.Diagnostic, bool) {
	cat, err := catalog.Load(path)
	var invalid *catalog.Error
	switch {
	case errors.As(err, &invalid):
		return nil, invalid.Diagnostics, true
	case err != nil:
		c.reportError(cmd, err)
		return nil, nil, false
	}
	return cat, nil, true
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
