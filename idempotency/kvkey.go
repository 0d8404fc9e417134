package idempotency

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// KV keys are NATS subject tokens: a bucket key may only hold letters,
// digits, '-', '_', '=', '/' and '.', and dots separate tokens that must not
// be empty. Message IDs (UUIDs) and consumer names are nearly always plain
// already, so they are kept readable ("billing.0190e0b4-..."), and anything
// else is encoded without ambiguity:
//
//	plain part   [A-Za-z0-9_-]+, kept as is
//	encoded part "=" + base64url(part), for every other part up to maxPlainPart bytes
//	hashed part  "==" + base64url(sha256(part)), for longer parts
//
// Plain parts never start with '=', and unpadded base64url never yields '=',
// so the three forms cannot collide; the scope, the source (when there is
// one) and the ID each become one token, so ("a.b", "c") and ("a", "b.c")
// stay apart.
const maxPlainPart = 96

func kvKey(k Key) string {
	if k.Source == "" {
		return kvKeyPart(k.Scope) + "." + kvKeyPart(k.ID)
	}
	// Three tokens never meet two: a key with a source cannot collide with
	// one without.
	return kvKeyPart(k.Scope) + "." + kvKeyPart(k.Source) + "." + kvKeyPart(k.ID)
}

func kvKeyPart(s string) string {
	if s != "" && len(s) <= maxPlainPart && plainKeyPart(s) {
		return s
	}
	if len(s) <= maxPlainPart {
		return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	sum := sha256.Sum256([]byte(s))
	return "==" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func plainKeyPart(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// Values of the KV store's records. They are text so that `nats kv get`
// shows what a key is doing:
//
//	claimed until 2025-03-01T10:00:30.123Z
//	done
const (
	claimedPrefix = "claimed until "
	doneValue     = "done"
)

func claimedValue(until time.Time) []byte {
	return []byte(claimedPrefix + until.UTC().Format(time.RFC3339Nano))
}

// parseKVValue reads a record written by this package; until is zero for
// done records.
func parseKVValue(v []byte) (Status, time.Time, error) {
	s := string(v)
	switch {
	case s == doneValue:
		return Done, time.Time{}, nil
	case strings.HasPrefix(s, claimedPrefix):
		until, err := time.Parse(time.RFC3339Nano, s[len(claimedPrefix):])
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("choreo/idempotency: bad lease time in KV record %q: %w", s, err)
		}
		return Busy, until, nil
	default:
		return 0, time.Time{}, fmt.Errorf("choreo/idempotency: KV record %q was not written by this package; give the store a bucket of its own", s)
	}
}

// ttlSeconds rounds d up to whole seconds, the granularity of per-message
// TTLs, with one second as the least.
func ttlSeconds(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return ((d + time.Second - 1) / time.Second) * time.Second
}

// ttlHeader formats a TTL for the Nats-TTL header: whole seconds, rounded up.
func ttlHeader(d time.Duration) string {
	return strconv.FormatInt(int64(ttlSeconds(d)/time.Second), 10) + "s"
}
