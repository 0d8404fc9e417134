package catalog

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (with errors.Is) by every error that reports
// problems in a catalog file: YAML that is not a catalog, and catalogs that
// break a rule a generator depends on. The error's text lists each problem as
// "file:line: message"; errors.As with *Error gives the individual
// Diagnostics.
var ErrInvalid = errors.New("invalid catalog")

// ErrTooLarge is matched (with errors.Is) by the error about a catalog
// past one of the size limits (MaxFileSize, MaxNodes, MaxTextSize), and by
// the error of a generator whose output would pass MaxOutputSize.
var ErrTooLarge = errors.New("catalog too large")

// ErrUnknownService is returned (wrapped) when a generator is asked for a
// service the catalog does not declare.
var ErrUnknownService = errors.New("unknown service")

// Severity says whether a Diagnostic blocks (SeverityError) or only advises
// (SeverityWarning).
type Severity uint8

const (
	// SeverityError marks a problem that makes the catalog unusable or
	// wrong: lint exits 1 and generators refuse the catalog.
	SeverityError Severity = iota + 1
	// SeverityWarning marks something that is probably a mistake but does
	// not stop generation: lint prints it and still exits 0.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	default:
		return fmt.Sprintf("Severity(%d)", uint8(s))
	}
}

// Diagnostic is one finding about a catalog file, located by file and line.
type Diagnostic struct {
	// File is the catalog file name as given to Load or Parse.
	File string
	// Line is the 1-based line of the YAML key the finding is about, or 0
	// when it concerns the file as a whole.
	Line int
	// Column is the 1-based column (in characters) within Line, for
	// findings about one place in the line (a character, an alias); 0
	// when the finding is about the key as a whole.
	Column int
	// Severity tells errors from warnings.
	Severity Severity
	// Rule names the check that produced the finding (see the Rule
	// constants); tests and tools can match on it instead of on Message.
	Rule Rule
	// Message says what is wrong and, where possible, what to do.
	Message string
}

// String formats d the way compilers do, so editors can jump to it:
// "file:line: message" (or "file:line:column: message") for errors and
// "file:line: warning: message" for warnings. It is always one line: a
// file name or a quoted catalog string holding a line break, a control or
// a bidirectional character shows it as an escape (\n, \u202e), so a
// hostile catalog cannot forge or disguise lines of lint output.
func (d Diagnostic) String() string {
	loc := escapeUnsafe(d.File, false)
	if d.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, d.Line)
		if d.Column > 0 {
			loc = fmt.Sprintf("%s:%d", loc, d.Column)
		}
	}
	msg := escapeUnsafe(d.Message, false)
	if d.Severity == SeverityWarning {
		return loc + ": warning: " + msg
	}
	return loc + ": " + msg
}

// Error is returned by Parse, Load and the generators when a catalog has
// errors. It matches ErrInvalid with errors.Is.
type Error struct {
	// Diagnostics holds every error found, sorted by file and line.
	Diagnostics []Diagnostic
}

// MaxListed is how many diagnostics Error lists (and the choreo command
// prints) before it summarises the rest as "... and N more": the first
// findings show what to fix, and thousands of lines help nobody.
const MaxListed = 100

// Error lists the diagnostics, one per line, up to MaxListed of them.
func (e *Error) Error() string {
	shown := min(len(e.Diagnostics), MaxListed)
	lines := make([]string, shown, shown+1)
	for i, d := range e.Diagnostics[:shown] {
		lines[i] = d.String()
	}
	if rest := len(e.Diagnostics) - shown; rest > 0 {
		lines = append(lines, MoreLine(rest))
	}
	return strings.Join(lines, "\n")
}

// MoreLine is the line that stands for n diagnostics left out of a listing.
func MoreLine(n int) string {
	return fmt.Sprintf("... and %d more (fix the ones above and run again to see them)", n)
}

// Is reports whether target is ErrInvalid, or ErrTooLarge when a finding
// is about a size limit (RuleLimit).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalid:
		return true
	case ErrTooLarge:
		for _, d := range e.Diagnostics {
			if d.Rule == RuleLimit {
				return true
			}
		}
	}
	return false
}

// HasErrors reports whether ds holds at least one SeverityError finding.
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// errorsOf returns an *Error holding the SeverityError findings of ds, or
// nil when there are none.
func errorsOf(ds []Diagnostic) error {
	var errs []Diagnostic
	for _, d := range ds {
		if d.Severity == SeverityError {
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sortDiagnostics(errs)
	return &Error{Diagnostics: errs}
}

// SortDiagnostics orders ds by file, line, column, severity (errors first) and
// message, the order Lint and Breaking return, so that output combined from
// both is stable from run to run.
func SortDiagnostics(ds []Diagnostic) { sortDiagnostics(ds) }

func sortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		return a.Message < b.Message
	})
}
