package idempotency

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// natsKVKey is the rule the jetstream package applies to KV keys.
var natsKVKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestKVKeyEncoding(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100)
	tests := []struct {
		name string
		key  Key
		want string // "" when only validity is checked
	}{
		{"plain parts stay readable", Key{Scope: "billing", ID: "0190e0b4-7c1a-7d2e-8f00-aa01bb02cc03"}, "billing.0190e0b4-7c1a-7d2e-8f00-aa01bb02cc03"},
		{"dots are encoded", Key{Scope: "a.b", ID: "c"}, "=YS5i.c"},
		{"empty scope", Key{Scope: "", ID: "x"}, "=.x"},
		{"equals sign is encoded", Key{Scope: "s", ID: "=YQ"}, "s.=PVlR"},
		{"long parts are hashed", Key{Scope: "s", ID: long}, ""},
		{"wildcards", Key{Scope: "*", ID: ">"}, "=Kg.=Pg"},
		{"a source is a token of its own", Key{Scope: "billing", Source: "accounts", ID: "order-42"}, "billing.accounts.order-42"},
		{"a URI source is encoded", Key{Scope: "billing", Source: "/orders", ID: "1"}, "billing.=L29yZGVycw.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := kvKey(tc.key)
			if tc.want != "" && got != tc.want {
				t.Errorf("kvKey(%+v) = %q, want %q", tc.key, got, tc.want)
			}
			if !natsKVKey.MatchString(got) || strings.HasPrefix(got, ".") || strings.HasSuffix(got, ".") || strings.Contains(got, "..") {
				t.Errorf("kvKey(%+v) = %q, not a valid KV key", tc.key, got)
			}
			if want := 1 + min(len(tc.key.Source), 1); strings.Count(got, ".") != want {
				t.Errorf("kvKey(%+v) = %q, want exactly %d dots", tc.key, got, want)
			}
		})
	}
	if h := kvKeyPart(long); !strings.HasPrefix(h, "==") || len(h) != 45 {
		t.Errorf("hashed part %q, want == and 43 base64url characters", h)
	}
}

func TestKVValueRoundTrip(t *testing.T) {
	t.Parallel()
	until := time.Date(2025, 3, 1, 10, 0, 30, 123000000, time.UTC)
	st, got, err := parseKVValue(claimedValue(until))
	if err != nil || st != Busy || !got.Equal(until) {
		t.Errorf("claimed record read back as %v %v %v", st, got, err)
	}
	if st, _, err := parseKVValue([]byte(doneValue)); err != nil || st != Done {
		t.Errorf("done record read back as %v %v", st, err)
	}
	if _, _, err := parseKVValue([]byte("claimed until soon")); err == nil {
		t.Error("bad lease time accepted")
	}
}

func TestTTLSecondsRoundsUp(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Duration]time.Duration{
		0: time.Second, 10 * time.Millisecond: time.Second, time.Second: time.Second,
		1001 * time.Millisecond: 2 * time.Second, time.Minute: time.Minute,
	} {
		if got := ttlSeconds(in); got != want {
			t.Errorf("ttlSeconds(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestTTLHeader(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Duration]string{0: "1s", 1500 * time.Millisecond: "2s", 24 * time.Hour: "86400s"} {
		if got := ttlHeader(in); got != want {
			t.Errorf("ttlHeader(%v) = %q, want %q", in, got, want)
		}
	}
}
