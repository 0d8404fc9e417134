package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// A flag value is input from whoever wrote the command line: a go:generate
// directive or a CI script in a repository someone else may edit. These
// checks turn values that would write somewhere harmful or put text nobody
// meant into a generated document into a one-line usage error (exit 2).

// checkOut returns why -out may not be out when the catalog is read from
// catalogPath, or "".
func checkOut(catalogPath, out string) string {
	if out != "" && out != "-" && sameFile(catalogPath, out) {
		return fmt.Sprintf("-out %q is the catalog itself, which would be overwritten with generated output; name another file", out)
	}
	return ""
}

// checkServer returns why -server may not be s, or "". A server is a host
// name or IP address with an optional port, as NATS clients take it.
func checkServer(s string) string {
	if s == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "" // no port
	}
	bad := fmt.Sprintf("-server %q: use host or host:port, e.g. localhost:4222 or [::1]:4222", s)
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad
		}
	}
	if host == "" || net.ParseIP(host) == nil && !isHostName(host) {
		return bad
	}
	return ""
}

// isHostName accepts DNS names: dot-separated labels of ASCII letters,
// digits, - and _ (the last for names such as nats_1 in container
// networks), each 1 to 63 bytes.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// maxVersionLen bounds -version: an API version such as 1.4.0-rc.1 is
// short, and the value is copied into every document.
const maxVersionLen = 64

// checkVersion returns why -version may not be v, or "": a version is
// printable text without spaces.
func checkVersion(v string) string {
	bad := strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) })
	if v == "" || len(v) > maxVersionLen || bad {
		return fmt.Sprintf("-version %q: use a version such as 1.0.0 (printable, no spaces, at most %d bytes)", v, maxVersionLen)
	}
	return ""
}
