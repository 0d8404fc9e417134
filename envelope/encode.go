package envelope

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file holds the header-value rules of the CloudEvents NATS protocol
// binding (section 3.1.3.2) for the way out: percent-encoding, and the
// CloudEvents String type's character rules, which hold both ways.
// decode.go has the way in.

// passThrough marks the bytes a header value may carry as they are: printable
// ASCII (U+0021..U+007E) except '"' and '%'. Every other byte is
// percent-encoded. Control characters never get this far: they are not
// allowed in CloudEvents strings at all.
var passThrough = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '%'
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// encodeHeaderValue returns v as a NATS header value, or a problem
// description if v is not a valid CloudEvents string. Values that need no
// encoding - the usual case - come back as they are, without allocating.
func encodeHeaderValue(v string) (string, string) {
	if len(v) > MaxValueBytes {
		return "", lengthProblem(len(v))
	}
	for i := passThroughWords(v); i < len(v); i++ {
		if !passThrough[v[i]] {
			return encodeSlow(v, i)
		}
	}
	return v, ""
}

// encodeSlow encodes v from byte i on; v[:i] needs no encoding.
func encodeSlow(v string, i int) (string, string) {
	if p := stringProblem(v); p != "" {
		return "", p
	}
	var b strings.Builder
	b.Grow(len(v) + 2*(len(v)-i))
	b.WriteString(v[:i])
	for ; i < len(v); i++ {
		c := v[i]
		if passThrough[c] {
			b.WriteByte(c)
			continue
		}
		// v is valid UTF-8 (checked above), so encoding byte by byte is
		// encoding each character's UTF-8 sequence, as the binding asks.
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0f])
	}
	return b.String(), ""
}

// The word-at-a-time scans below test eight bytes per step with the classic
// bit tricks (any byte below n, any byte above 0x7E, any byte equal to c).
// They return the length of the leading run of whole words that certainly
// need no attention; callers finish byte by byte from there, so the tricks
// only have to be right about "no byte in this word is special".
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func word(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

func anyBelow(x uint64, n byte) bool { return (x-lsb*uint64(n))&^x&msb != 0 }
func anyAbove7E(x uint64) bool       { return ((x+lsb)|x)&msb != 0 }
func anyEqual(x uint64, c byte) bool { return anyBelow(x^(lsb*uint64(c)), 1) }

// passThroughWords measures the leading words of v that need no
// percent-encoding: bytes 0x21..0x7E other than '"' and '%'.
func passThroughWords(v string) int {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := word(v, i)
		if anyBelow(x, 0x21) || anyAbove7E(x) || anyEqual(x, '"') || anyEqual(x, '%') {
			break
		}
	}
	return i
}

// stringProblem says why v is not a valid CloudEvents String, or returns ""
// when it is. The CloudEvents type system allows any Unicode text except
// control characters (U+0000..U+001F, U+007F..U+009F), surrogates (which
// valid UTF-8 cannot hold) and noncharacters.
func stringProblem(v string) string {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fmt.Sprintf("holds control character %U, which CloudEvents strings must not contain", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("is not valid UTF-8 (bad byte 0x%02X at offset %d)", c, i)
		}
		switch {
		case r >= 0x80 && r <= 0x9f:
			return fmt.Sprintf("holds control character %U, which CloudEvents strings must not contain", r)
		case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
			return fmt.Sprintf("holds Unicode noncharacter %U, which CloudEvents strings must not contain", r)
		}
		i += size
	}
	return ""
}
