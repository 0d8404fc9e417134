package envelope

import (
	"strings"
	"unicode/utf8"
)

// This file reads header values: the way in of the rules in encode.go, made
// lenient where other producers differ. Write percent-encodes as the NATS
// binding asks; the official SDKs (sdk-go's NATS JetStream binding, the
// JavaScript SDK) send values raw. So a value is percent-decoded when it is
// a valid percent-encoding and taken literally when it is not: strict in
// what we send, lenient in what we accept, and never an error for a value
// that is a fine CloudEvents string as it stands.

// decodeHeaderValue turns a received header value into the attribute value:
//
//  1. Optional whitespace (space, tab) around it is trimmed.
//  2. A value in double quotes that is a valid quoted-string (RFC 9110:
//     inner quotes and backslashes escaped with a backslash) is unquoted;
//     one that is not is kept, quotes and all.
//  3. If every '%' starts an escape of two hex digits (either case) and the
//     decoded bytes are valid UTF-8, the value is percent-decoded, once.
//     Otherwise it is taken literally: a raw "100%" or "sübject 100%".
//  4. The result must be a valid CloudEvents string of at most
//     MaxValueBytes: valid UTF-8 without control characters or Unicode
//     noncharacters. A decoded value breaking this is an error, not taken
//     literally: "a%0Ab" says line feed as clearly as any sender can.
//
// It returns the value, or "" and a description of the problem. Values of
// printable ASCII without '%' or quotes, which is what Write sends for
// nearly every attribute, come back as they are, without allocating.
func decodeHeaderValue(v string) (string, string) {
	v = trimOptionalWhitespace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if inner, ok := unquote(v); ok {
			v = inner
		}
	}
	ascii := true
	for i := printableWords(v); i < len(v); i++ {
		c := v[i]
		if c == '%' {
			if s, ok := percentDecode(v, i); ok {
				return checkDecoded(s)
			}
			ascii = false // not an encoding: check v as it stands
			break
		}
		if c < 0x20 || c > 0x7e {
			ascii = false
		}
	}
	if !ascii {
		// Raw bytes beyond printable ASCII, from a producer that does not
		// percent-encode, or a literal '%'.
		if p := valueProblem(v); p != "" {
			return "", p
		}
		return v, ""
	}
	if len(v) > MaxValueBytes {
		return "", lengthProblem(len(v))
	}
	return v, ""
}

// checkDecoded applies step 4 to a percent-decoded value.
func checkDecoded(s string) (string, string) {
	if len(s) > MaxValueBytes {
		return "", "percent-decoded " + lengthProblem(len(s))
	}
	if p := stringProblem(s); p != "" {
		return "", "percent-decoded value " + p
	}
	return s, ""
}

// percentDecode decodes v, whose first '%' is at index i. It reports false
// when v is not a valid percent-encoding: a '%' without two hex digits
// after it, or escapes that make invalid UTF-8 (such as the overlong
// "%C0%A0" or a lone "%80").
func percentDecode(v string, i int) (string, bool) {
	buf := make([]byte, 0, len(v))
	buf = append(buf, v[:i]...)
	for ; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			buf = append(buf, c)
			continue
		}
		if i+2 >= len(v) {
			return "", false
		}
		hi, okHi := unhex(v[i+1])
		lo, okLo := unhex(v[i+2])
		if !okHi || !okLo {
			return "", false
		}
		buf = append(buf, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(buf) {
		return "", false
	}
	return string(buf), true
}

// printableWords measures the leading words of v that need no decoding:
// bytes 0x20..0x7E other than '%'.
func printableWords(v string) int {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := word(v, i)
		if anyBelow(x, 0x20) || anyAbove7E(x) || anyEqual(x, '%') {
			break
		}
	}
	return i
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unquote removes the surrounding double quotes of an RFC 9110
// quoted-string and resolves its backslash escapes. It reports false when v
// is not one: a double quote inside that is not escaped, or a backslash
// that escapes the closing quote.
func unquote(v string) (string, bool) {
	inner := v[1 : len(v)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, strings.IndexByte(inner, '"') < 0
	}
	buf := make([]byte, 0, len(inner))
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; c {
		case '\\':
			if i+1 == len(inner) {
				return "", false
			}
			i++
			buf = append(buf, inner[i])
		case '"':
			return "", false
		default:
			buf = append(buf, c)
		}
	}
	return string(buf), true
}

func trimOptionalWhitespace(v string) string {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
