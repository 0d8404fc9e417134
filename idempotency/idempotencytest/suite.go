package idempotencytest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/choreo-bus/choreo/idempotency"
)

// ExpiryGrace is how long after a lease or retention ends the suite waits
// for a store to report the key free.
const ExpiryGrace = 10 * time.Second

const (
	shortLease = time.Second
	longLease  = time.Minute
	retention  = time.Hour
	// clockSlack allows for a store that rounds or measures time on another
	// clock (a server's) when the suite checks a lease did not end early.
	clockSlack = 250 * time.Millisecond
	pollEvery  = 50 * time.Millisecond
)

// Run runs the conformance suite against the stores newStore returns. It
// calls newStore once per subtest, from that subtest's goroutine, so calls
// may be concurrent; cleanup belongs on the t it is given. A store must be
// safe for concurrent use, as the Store contract says.
func Run(t *testing.T, newStore func(t *testing.T) idempotency.Store) {
	t.Helper()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	tests := []struct {
		name string
		test func(t *testing.T, s idempotency.Store, k keys)
	}{
		{"ClaimThenCompleteIsDone", testClaimComplete},
		{"ClaimWhileHeldIsBusy", testBusy},
		{"ReleaseFreesKey", testRelease},
		{"LeaseExpiryFreesKeyAndFencesOldHolder", testLeaseExpiry},
		{"RetentionExpiryFreesKey", testRetentionExpiry},
		{"ExtendKeepsKeyPastFirstLease", testExtend},
		{"LateCallsRetakeFreeKey", testLateCalls},
		{"ConcurrentClaimsHaveOneWinner", testConcurrentClaims},
		{"KeysStayDistinct", testDistinctKeys},
		{"EmptyIDIsRejected", testEmptyID},
		{"DoneContextFails", testDoneContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t), keys{prefix: run + "/" + tc.name})
		})
	}
}

// keys makes keys unique to one subtest of one run.
type keys struct{ prefix string }

func (k keys) key(name string) idempotency.Key {
	return idempotency.Key{Scope: "conformance", ID: k.prefix + "/" + name}
}

func testClaimComplete(t *testing.T, s idempotency.Store, k keys) {
	ctx := context.Background()
	key := k.key("a")
	before := time.Now()
	c := mustClaim(t, s, key, longLease, idempotency.Acquired)
	if c.Key != key {
		t.Errorf("Claim returned Key %+v, want %+v", c.Key, key)
	}
	if !c.Until.IsZero() && (c.Until.Before(before.Add(longLease-clockSlack)) || c.Until.After(time.Now().Add(longLease+time.Second+clockSlack))) {
		t.Errorf("Acquired claim lasts until %v, want about now+%v", c.Until, longLease)
	}
	if err := s.Complete(ctx, c, retention); err != nil {
		t.Fatalf("Complete of a held claim: %v", err)
	}
	for range 2 {
		mustClaim(t, s, key, longLease, idempotency.Done)
	}
}

func testBusy(t *testing.T, s idempotency.Store, k keys) {
	key := k.key("a")
	held := mustClaim(t, s, key, longLease, idempotency.Acquired)
	busy := mustClaim(t, s, key, longLease, idempotency.Busy)
	if !busy.Until.IsZero() && !held.Until.IsZero() {
		if d := busy.Until.Sub(held.Until); d < -time.Second || d > time.Second {
			t.Errorf("Busy claim reports the lease ends at %v, the holder was told %v", busy.Until, held.Until)
		}
	}
	// A different key is not affected.
	mustClaim(t, s, k.key("b"), longLease, idempotency.Acquired)
}

func testRelease(t *testing.T, s idempotency.Store, k keys) {
	ctx := context.Background()
	key := k.key("a")
	first := mustClaim(t, s, key, longLease, idempotency.Acquired)
	if err := s.Release(ctx, first); err != nil {
		t.Fatalf("Release of a held claim: %v", err)
	}
	if err := s.Release(ctx, first); err != nil {
		t.Errorf("second Release of the same claim (key now free) = %v, want nil", err)
	}
	second := mustClaim(t, s, key, longLease, idempotency.Acquired)
	if second.Token == first.Token {
		t.Errorf("claim after release reuses token %d; every claim needs its own", first.Token)
	}
	if err := s.Release(ctx, first); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Release with the old token while another claim holds the key = %v, want ErrLeaseLost", err)
	}
	mustClaim(t, s, key, longLease, idempotency.Busy)
	if err := s.Complete(ctx, second, retention); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	mustClaim(t, s, key, longLease, idempotency.Done)
}

func testLeaseExpiry(t *testing.T, s idempotency.Store, k keys) {
	ctx := context.Background()
	key := k.key("a")
	dead := mustClaim(t, s, key, shortLease, idempotency.Acquired) // its holder "crashes"
	leaseEnd := time.Now().Add(shortLease)
	mustClaim(t, s, key, shortLease, idempotency.Busy)
	next := waitAcquired(t, s, key, longLease, leaseEnd)
	if next.Token == dead.Token {
		t.Errorf("claim after expiry reuses token %d", dead.Token)
	}
	// The old holder comes back too late: every write is refused.
	if err := s.Complete(ctx, dead, retention); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Complete by the expired holder = %v, want ErrLeaseLost", err)
	}
	if _, err := s.Extend(ctx, dead, longLease); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Extend by the expired holder = %v, want ErrLeaseLost", err)
	}
	if err := s.Release(ctx, dead); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("Release by the expired holder = %v, want ErrLeaseLost", err)
	}
	mustClaim(t, s, key, shortLease, idempotency.Busy)
	next, err := s.Extend(ctx, next, longLease)
	if err != nil {
		t.Fatalf("Extend by the new holder: %v", err)
	}
	if err := s.Complete(ctx, next, retention); err != nil {
		t.Fatalf("Complete by the new holder: %v", err)
	}
	mustClaim(t, s, key, shortLease, idempotency.Done)
}

func testRetentionExpiry(t *testing.T, s idempotency.Store, k keys) {
	key := k.key("a")
	c := mustClaim(t, s, key, longLease, idempotency.Acquired)
	if err := s.Complete(context.Background(), c, time.Second); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	end := time.Now().Add(time.Second)
	mustClaim(t, s, key, longLease, idempotency.Done)
	waitAcquired(t, s, key, longLease, end)
}

func testExtend(t *testing.T, s idempotency.Store, k keys) {
	ctx := context.Background()
	key := k.key("a")
	c := mustClaim(t, s, key, shortLease, idempotency.Acquired)
	c, err := s.Extend(ctx, c, 5*time.Second)
	if err != nil {
		t.Fatalf("Extend of a held claim: %v", err)
	}
	if c.Status != idempotency.Acquired || c.Key != key {
		t.Fatalf("Extend returned %+v, want an Acquired claim of %+v", c, key)
	}
	time.Sleep(shortLease + time.Second) // well past the first lease
	mustClaim(t, s, key, shortLease, idempotency.Busy)
	if err := s.Complete(ctx, c, retention); err != nil {
		t.Fatalf("Complete with the extended claim: %v", err)
	}
	mustClaim(t, s, key, shortLease, idempotency.Done)
}

func testLateCalls(t *testing.T, s idempotency.Store, k keys) {
	ctx := context.Background()
	done, ext := k.key("complete"), k.key("extend")
	cd := mustClaim(t, s, done, shortLease, idempotency.Acquired)
	ce := mustClaim(t, s, ext, shortLease, idempotency.Acquired)
	// The leases run out and nobody claims the keys meanwhile.
	time.Sleep(shortLease + 1500*time.Millisecond)
	if err := s.Complete(ctx, cd, retention); err != nil {
		t.Errorf("Complete after the lease ran out, key untouched since = %v, want nil", err)
	}
	mustClaim(t, s, done, shortLease, idempotency.Done)
	ce, err := s.Extend(ctx, ce, longLease)
	if err != nil {
		t.Fatalf("Extend after the lease ran out, key untouched since = %v, want nil", err)
	}
	mustClaim(t, s, ext, shortLease, idempotency.Busy)
	if err := s.Release(ctx, ce); err != nil {
		t.Errorf("Release: %v", err)
	}
	mustClaim(t, s, ext, shortLease, idempotency.Acquired)
}

func testConcurrentClaims(t *testing.T, s idempotency.Store, k keys) {
	const nKeys, claimers = 8, 16
	var wg sync.WaitGroup
	results := make([][claimers]idempotency.Claim, nKeys)
	errs := make(chan error, nKeys*claimers)
	start := make(chan struct{})
	for i := range nKeys {
		key := k.key(strconv.Itoa(i))
		for j := range claimers {
			wg.Go(func() {
				<-start
				c, err := s.Claim(context.Background(), key, longLease)
				if err != nil {
					errs <- err
				}
				results[i][j] = c
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Claim: %v", err)
	}
	for i := range nKeys {
		acquired := 0
		for _, c := range results[i] {
			switch c.Status {
			case idempotency.Acquired:
				acquired++
			case idempotency.Busy:
			default:
				t.Errorf("key %d: concurrent Claim returned status %v, want acquired or busy", i, c.Status)
			}
		}
		if acquired != 1 {
			t.Errorf("key %d: %d of %d concurrent claims acquired it, want exactly 1", i, acquired, claimers)
		}
	}
}

func testDistinctKeys(t *testing.T, s idempotency.Store, k keys) {
	long := string(make([]byte, 1000))
	ids := []string{
		"a.b", "a", "b.c", "a/b", "b/c", "order 42", "order-42", "ORDER-42",
		"*", ">", "..", ".", "=", "=YQ", "a==", "заказ-42", "\x00", long, long + "x", "x" + long,
	}
	var all []idempotency.Key
	for _, scope := range []string{"", "a", "a.b", "a/b", "="} {
		for _, id := range ids {
			all = append(all, idempotency.Key{Scope: k.prefix + scope, ID: id})
		}
	}
	// The scope and ID are separate: ("p", "a.b") and ("p.a", "b") differ.
	all = append(all,
		idempotency.Key{Scope: k.prefix + "-x", ID: "y.z"},
		idempotency.Key{Scope: k.prefix + "-x.y", ID: "z"},
	)
	// The source qualifies the ID: two producers may both send id "1", and
	// neither meets the key without a source nor a key whose parts shift.
	for _, source := range []string{"accounts", "billing", "/orders", "a.b", "x"} {
		all = append(all, idempotency.Key{Scope: k.prefix + "-s", Source: source, ID: "1"})
	}
	all = append(all,
		idempotency.Key{Scope: k.prefix + "-s", ID: "1"},
		idempotency.Key{Scope: k.prefix + "-s", Source: "x.1", ID: "2"},
		idempotency.Key{Scope: k.prefix + "-s", Source: "x", ID: "1.2"},
		idempotency.Key{Scope: k.prefix + "-s.x", ID: "1"},
	)
	for _, key := range all {
		mustClaim(t, s, key, longLease, idempotency.Acquired)
	}
	for _, key := range all {
		mustClaim(t, s, key, longLease, idempotency.Busy)
	}
}

func testEmptyID(t *testing.T, s idempotency.Store, k keys) {
	_, err := s.Claim(context.Background(), idempotency.Key{Scope: k.prefix}, longLease)
	if !errors.Is(err, idempotency.ErrNoKey) {
		t.Errorf("Claim with an empty ID = %v, want an error matching ErrNoKey", err)
	}
}

func testDoneContext(t *testing.T, s idempotency.Store, k keys) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := k.key("a")
	if c, err := s.Claim(ctx, key, longLease); err == nil {
		t.Errorf("Claim with a cancelled context = %+v, want an error", c)
	}
	// Nothing was claimed.
	mustClaim(t, s, key, longLease, idempotency.Acquired)
}

func mustClaim(t *testing.T, s idempotency.Store, key idempotency.Key, lease time.Duration, want idempotency.Status) idempotency.Claim {
	t.Helper()
	c, err := s.Claim(context.Background(), key, lease)
	if err != nil {
		t.Fatalf("Claim(%q): %v", key.String(), err)
	}
	if c.Status != want {
		t.Fatalf("Claim(%q) = %v, want %v", key.String(), c.Status, want)
	}
	if want == idempotency.Acquired && c.Token == 0 {
		t.Errorf("Claim(%q) acquired with token 0; tokens must tell claims apart", key.String())
	}
	return c
}

// waitAcquired claims key until it is acquired, failing if that happens
// before end (the expiry came early) or not within ExpiryGrace after it.
func waitAcquired(t *testing.T, s idempotency.Store, key idempotency.Key, lease time.Duration, end time.Time) idempotency.Claim {
	t.Helper()
	for {
		c, err := s.Claim(context.Background(), key, lease)
		if err != nil {
			t.Fatalf("Claim(%q) while waiting for expiry: %v", key.String(), err)
		}
		now := time.Now()
		if c.Status == idempotency.Acquired {
			if now.Before(end.Add(-clockSlack)) {
				t.Errorf("key %q was free %v before its lease or retention ended", key.String(), end.Sub(now))
			}
			return c
		}
		if now.After(end.Add(ExpiryGrace)) {
			t.Fatalf("key %q still %v %v after its lease or retention ended", key.String(), c.Status, now.Sub(end))
		}
		time.Sleep(pollEvery)
	}
}
