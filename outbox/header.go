package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
)

// headerPreamble starts a stored header block, as on the NATS wire.
const headerPreamble = "NATS/1.0\r\n"

// encodeHeader stores h as NATS writes headers on the wire: "NATS/1.0",
// then one "Key: value" line per value (keys sorted, so equal headers store
// equal bytes), then an empty line. It is readable in the table with SQL,
// and decoding it costs a fraction of JSON's (the relay decodes every row).
func encodeHeader(h nats.Header) ([]byte, error) {
	keys := make([]string, 0, len(h))
	size := len(headerPreamble) + 2
	for k, vs := range h {
		if k == "" || strings.ContainsAny(k, ":\r\n") {
			return nil, fmt.Errorf("header name %q cannot be stored", k)
		}
		keys = append(keys, k)
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("the value of header %s holds a line break", k)
			}
			size += len(k) + len(v) + 4
		}
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, headerPreamble...)
	for _, k := range keys {
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...), nil
}

var errHeaderBlock = errors.New("not a stored header block (NATS/1.0, Key: value lines, an empty line)")

// decodeHeader reads what encodeHeader stored; anything else is an error.
func decodeHeader(b []byte) (nats.Header, error) {
	rest, ok := bytes.CutPrefix(b, []byte(headerPreamble))
	if !ok {
		return nil, errHeaderBlock
	}
	h := make(nats.Header, 12)
	for {
		line, after, found := bytes.Cut(rest, []byte("\r\n"))
		if !found {
			return nil, errHeaderBlock
		}
		if len(line) == 0 {
			if len(after) != 0 {
				return nil, errHeaderBlock
			}
			return h, nil
		}
		k, v, found := bytes.Cut(line, []byte(": "))
		if !found || len(k) == 0 || bytes.ContainsAny(k, ":\r\n") || bytes.ContainsAny(v, "\r\n") {
			return nil, errHeaderBlock
		}
		key := string(k)
		h[key] = append(h[key], string(v))
		rest = after
	}
}
