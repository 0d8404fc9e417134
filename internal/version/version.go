// Package version compares nats-server versions, so that choreo can refuse
// a server too old for a feature with a clear error at start instead of a
// cryptic one at first use.
package version

import "strings"

// AtLeast reports whether the dotted version have ("2.10.29",
// "v2.11.0-beta.1") is at least want ("2.11.0"). A pre-release suffix
// counts as the release it precedes; missing or malformed parts count as 0.
func AtLeast(have, want string) bool {
	h, w := parts(have), parts(want)
	for i := range h {
		if h[i] != w[i] {
			return h[i] > w[i]
		}
	}
	return true
}

func parts(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	for i, p := range strings.SplitN(v, ".", 3) {
		for _, c := range p {
			if c < '0' || c > '9' {
				break
			}
			out[i] = out[i]*10 + int(c-'0')
		}
	}
	return out
}
