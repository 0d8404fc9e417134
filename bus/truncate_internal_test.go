package bus

import (
	"testing"
	"unicode/utf8"
)

func TestTruncateKeepsTextReadable(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},         // never inside a character
		{"a%C3%A9", 3, "a"},    // never inside an escape
		{"a%C3%A9", 2, "a"},    // nor right after its percent sign
		{"a%C3%A9", 4, "a%C3"}, // whole escapes stay
		{"日本語", 4, "日"},
	} {
		got := truncate(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
