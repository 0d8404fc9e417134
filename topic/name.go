package topic

import (
	"strconv"
	"strings"
)

// Limits of the grammar. They keep every name, and everything derived from
// it, well inside what NATS and JetStream accept: a wire subject of at most
// MaxNamespaceLen+1+4+MaxNameLen = 197 bytes, and stream and consumer names
// far below JetStream's 255-byte limit on names (which are also file names
// on the server).
const (
	// MaxNameLen is the longest topic name Parse accepts, in bytes.
	MaxNameLen = 128
	// MaxVersion is the largest version Parse accepts (nine digits), so a
	// version always fits an int, even a 32-bit one.
	MaxVersion = 999_999_999
)

// Name is a parsed topic name: v<Version>.<Entity>[.<Qualifiers>...].<Verb>.
//
// Get one from Parse, or from a Command or Event. A Name is a plain value:
// it is safe for concurrent use as long as nobody writes to it, and a Name
// built by hand is not validated until it goes through Parse(n.String()).
//
// Name holds a slice, so it cannot be compared with == or used as a map key;
// compare or key by String() instead.
type Name struct {
	// Version is the number after "v": 1 for "v1". Parsed names have
	// 1 <= Version <= MaxVersion.
	Version int
	// Entity is the thing the topic is about: "user" in v1.user.signup.
	// Streams are per entity.
	Entity string
	// Qualifiers are the segments between the entity and the verb, most
	// general first: ["email"] in v1.user.email.changed. Nil when there are
	// none.
	Qualifiers []string
	// Verb says what to do (commands, present tense: "signup") or what
	// happened (events, past tense: "signedup").
	Verb string

	// canonical is the string Parse read this name from. String returns it
	// without allocating, after checking the fields still spell it out.
	canonical string
}

// IsZero reports whether n is the zero Name, which is what the zero value
// of a Command or Event holds (and what the bus refuses to send to).
func (n Name) IsZero() bool {
	return n.Version == 0 && n.Entity == "" && len(n.Qualifiers) == 0 && n.Verb == ""
}

// String returns the canonical text of the name, such as
// "v1.user.email.changed", or "" for the zero Name. For a parsed name it is
// exactly the string that was parsed, returned without allocating.
//
// String does not validate: a Name built by hand with bad fields prints
// them as they are.
func (n Name) String() string {
	if n.canonical != "" && n.spells(n.canonical) {
		return n.canonical
	}
	if n.IsZero() {
		return ""
	}
	return n.format()
}

// format writes the fields out in one allocation.
func (n Name) format() string {
	size := 1 + 10 + 1 + len(n.Entity) + 1 + len(n.Verb)
	for _, q := range n.Qualifiers {
		size += len(q) + 1
	}
	var b strings.Builder
	b.Grow(size)
	var digits [20]byte
	b.WriteByte('v')
	b.Write(strconv.AppendInt(digits[:0], int64(n.Version), 10))
	b.WriteByte('.')
	b.WriteString(n.Entity)
	for _, q := range n.Qualifiers {
		b.WriteByte('.')
		b.WriteString(q)
	}
	b.WriteByte('.')
	b.WriteString(n.Verb)
	return b.String()
}

// spells reports whether s is exactly what format would produce for n. It
// guards the cached canonical string against fields changed after Parse,
// and costs a few comparisons, no allocation.
func (n Name) spells(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	i, v := 1, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > MaxVersion {
			return false
		}
		v = v*10 + int(s[i]-'0')
	}
	if i == 1 || v != n.Version || (s[1] == '0') {
		return false
	}
	s, ok := cutSegment(s[i:], n.Entity)
	if !ok {
		return false
	}
	for _, q := range n.Qualifiers {
		if s, ok = cutSegment(s, q); !ok {
			return false
		}
	}
	return n.Verb != "" && len(s) == len(n.Verb)+1 && s[0] == '.' && s[1:] == n.Verb
}

// cutSegment removes "."+seg from the front of s, provided seg is not
// empty and is followed by another dot.
func cutSegment(s, seg string) (string, bool) {
	if seg == "" || len(s) < len(seg)+2 || s[0] != '.' || s[1:1+len(seg)] != seg || s[1+len(seg)] != '.' {
		return s, false
	}
	return s[1+len(seg):], true
}
