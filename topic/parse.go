package topic

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidName is matched (errors.Is) by every error about the grammar of
// a topic name. The message names the segment at fault by position and
// text, says why it is wrong and shows a valid name, or the fixed name when
// the fix is obvious.
var ErrInvalidName = errors.New("choreo/topic: invalid name")

// maxVersionDigits is the number of digits in MaxVersion.
const maxVersionDigits = 9

// exampleName is the valid name error messages point to.
const exampleName = "v1.user.signup"

// The rules error messages quote.
const (
	ruleSegment  = "segments are lowercase ASCII letters and digits, starting with a letter"
	ruleJoined   = "segments are lowercase letters and digits only: join words (signup, not sign-up or sign_up)"
	ruleWildcard = "'*' and '>' are subscription wildcards, a name is always concrete"
	ruleVersion  = "a name starts with its version: v and a number from 1 to 999999999, without leading zeros"
	ruleShape    = "a name is v<N>.<entity>[.<qualifier>...].<verb>"
)

// problem is what is wrong with a name and the rule it breaks.
type problem struct {
	what string
	rule string
}

// Parse reads a topic name: v<N>.<entity>[.<qualifier>...].<verb>, every
// segment lowercase ASCII letters and digits starting with a letter, at
// least three segments, at most MaxNameLen bytes. See the package
// documentation for the reasons behind each rule.
//
// Parse checks the grammar only; whether the verb's tense fits a command or
// an event is CheckTense's job. Errors match ErrInvalidName. A name with
// no qualifiers is parsed without allocating. Parse is safe for concurrent
// use.
func Parse(s string) (Name, error) {
	n, p := parse(s)
	if p.what != "" {
		return Name{}, invalidName(s, p)
	}
	return n, nil
}

func parse(s string) (Name, problem) {
	if s == "" {
		return Name{}, problem{"it is empty", ruleShape}
	}
	if len(s) > MaxNameLen {
		return Name{}, problem{fmt.Sprintf("it is %d bytes long, the limit is %d", len(s), MaxNameLen),
			"shorten the entity, qualifiers or verb"}
	}
	count := strings.Count(s, ".") + 1
	n := Name{canonical: s}
	if count > 3 {
		n.Qualifiers = make([]string, 0, count-3)
	}
	rest := s
	for i := 1; ; i++ {
		seg, tail, more := strings.Cut(rest, ".")
		if i == 1 {
			v, p := parseVersion(seg)
			if p.what != "" {
				return Name{}, segmentProblem(i, count, seg, p)
			}
			n.Version = v
		} else if p := checkSegment(seg); p.what != "" {
			return Name{}, segmentProblem(i, count, seg, p)
		}
		switch {
		case i == 1:
		case i == 2:
			n.Entity = seg
		case !more:
			n.Verb = seg
		default:
			n.Qualifiers = append(n.Qualifiers, seg)
		}
		if !more {
			break
		}
		rest = tail
	}
	if count < 3 {
		return Name{}, problem{fmt.Sprintf("it has %d segments, a name needs at least 3: version, entity and verb", count), ruleShape}
	}
	return n, problem{}
}

// parseVersion reads the first segment, "v1".
func parseVersion(seg string) (int, problem) {
	switch {
	case seg == "":
		return 0, problem{"is empty", ruleVersion}
	case seg[0] == 'V':
		return 0, problem{"has upper case", ruleVersion}
	case seg[0] != 'v':
		return 0, problem{"is not a version", ruleVersion}
	case len(seg) == 1:
		return 0, problem{"has no number after the v", ruleVersion}
	}
	digits := seg[1:]
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, problem{"is not a version: only digits may follow the v", ruleVersion}
		}
	}
	switch {
	case digits == "0":
		return 0, problem{"is not a version: versions start at v1", ruleVersion}
	case digits[0] == '0':
		return 0, problem{"has a leading zero", ruleVersion}
	case len(digits) > maxVersionDigits:
		return 0, problem{"is too large", ruleVersion}
	}
	v, _ := strconv.Atoi(digits) // nine digits at most: cannot fail
	return v, problem{}
}

// checkSegment checks an entity, qualifier or verb segment.
func checkSegment(seg string) problem {
	if seg == "" {
		return problem{"is empty (two dots in a row, or a dot at an end)", ruleSegment}
	}
	if seg[0] >= '0' && seg[0] <= '9' {
		return problem{"starts with a digit", ruleSegment}
	}
	for i := range len(seg) {
		switch c := seg[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			return problem{"has upper case", ruleSegment}
		case c == '-', c == '_':
			return problem{fmt.Sprintf("has %q", c), ruleJoined}
		case c == '*', c == '>':
			return problem{fmt.Sprintf("has the wildcard %q", c), ruleWildcard}
		case c == ' ', c == '\t', c == '\n', c == '\r', c == '\v', c == '\f':
			return problem{"has white space", ruleSegment}
		case c >= 0x80:
			return problem{"has non-ASCII characters", ruleSegment}
		default:
			return problem{fmt.Sprintf("has %q", c), ruleSegment}
		}
	}
	return problem{}
}

// segmentProblem says which segment is at fault: position, role, text.
func segmentProblem(i, count int, seg string, p problem) problem {
	role := ""
	switch {
	case i == 1:
		role = " (version)"
	case count < 3:
	case i == 2:
		role = " (entity)"
	case i == count:
		role = " (verb)"
	default:
		role = " (qualifier)"
	}
	p.what = fmt.Sprintf("segment %d%s %s %s", i, role, quote(seg), p.what)
	return p
}

// invalidName builds the error: what is wrong, the rule, and either the
// obvious fix or an example of a valid name.
func invalidName(s string, p problem) error {
	hint := "e.g. " + exampleName
	if fixed, ok := obviousFix(s); ok {
		hint = "did you mean " + fixed + "?"
	}
	return fmt.Errorf("%w %s: %s; %s, %s", ErrInvalidName, quote(s), p.what, p.rule, hint)
}

// quote quotes s for an error message, cutting very long input short.
func quote(s string) string {
	const max = 2 * MaxNameLen
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// obviousFix repairs the mistakes people make most: upper case, words
// joined with '-' or '_', white space around the name, stray dots, a
// version without its v or with a leading zero. It reports a fix only
// when the result is a valid name.
func obviousFix(s string) (string, bool) {
	if len(s) > 4*MaxNameLen {
		return "", false
	}
	var segs []string
	for seg := range strings.SplitSeq(strings.TrimSpace(s), ".") {
		fixed := make([]byte, 0, len(seg))
		for i := range len(seg) {
			switch c := seg[i]; {
			case c == '-', c == '_':
			case c >= 'A' && c <= 'Z':
				fixed = append(fixed, c+'a'-'A')
			default:
				fixed = append(fixed, c)
			}
		}
		if len(fixed) > 0 {
			segs = append(segs, string(fixed))
		}
	}
	if len(segs) == 0 {
		return "", false
	}
	version := strings.TrimPrefix(segs[0], "v")
	if trimmed := strings.TrimLeft(version, "0"); trimmed != "" && len(trimmed) < len(version) {
		version = trimmed
	}
	segs[0] = "v" + version
	fixed := strings.Join(segs, ".")
	if fixed == s {
		return "", false
	}
	if _, p := parse(fixed); p.what != "" {
		return "", false
	}
	return fixed, true
}
