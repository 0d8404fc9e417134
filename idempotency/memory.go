package idempotency

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultMaxEntries is the MemoryStore capacity when WithMaxEntries is not
// given.
const DefaultMaxEntries = 100_000

// MemoryOption configures NewMemoryStore.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	maxEntries int
}

// WithMaxEntries bounds the number of keys the store remembers (claimed and
// done together). When it is full, a new key evicts the done record that was
// completed longest ago, so a duplicate of that evicted message would run
// again: size it to hold at least retention × message rate. Default
// DefaultMaxEntries; n <= 0 means the default.
func WithMaxEntries(n int) MemoryOption {
	return func(c *memoryConfig) { c.maxEntries = n }
}

// MemoryStore is a Store kept in this process's memory: fast and free of
// round trips, but private to one process and lost when it exits. Use it
// for a service that runs as a single instance, for tests, and in front of
// handlers whose duplicates are only a matter of cost; use the KV store
// when several instances share a consumer.
//
// It is bounded (WithMaxEntries) and expires records lazily, on access and
// when a new key needs room, so it runs no goroutine and needs no Close.
// All methods are safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	entries map[Key]*memEntry
	claims  entryList // live and expired claims, most recently renewed first
	done    entryList // done records, most recently completed first
	max     int
	tokens  uint64    // last token handed out
	epoch   time.Time // origin of the store's monotonic clock
}

// memEntry is one key's record. It sits in exactly one of the two lists.
type memEntry struct {
	key        Key
	status     Status // Acquired or Done
	token      uint64
	until      mono // lease or retention end
	prev, next *memEntry
	list       *entryList
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	cfg := memoryConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxEntries <= 0 {
		cfg.maxEntries = DefaultMaxEntries
	}
	return &MemoryStore{entries: make(map[Key]*memEntry), max: cfg.maxEntries, epoch: time.Now()}
}

// mono is a time on the store's clock: nanoseconds since its epoch, read
// from the monotonic clock alone (half the cost of time.Now, which also
// reads the wall clock, and immune to wall-clock steps).
type mono int64

func (s *MemoryStore) now() mono { return mono(time.Since(s.epoch)) }

// at converts a time on the store's clock back to a time.Time.
func (s *MemoryStore) at(m mono) time.Time { return s.epoch.Add(time.Duration(m)) }

// add returns m+d, saturating instead of overflowing for absurd durations.
func (m mono) add(d time.Duration) mono {
	if d > 0 && m > math.MaxInt64-mono(d) {
		return math.MaxInt64
	}
	return m + mono(d)
}

// Len reports how many keys the store holds, expired ones not yet swept
// included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Claim implements Store. It does not allocate when the key is done or busy.
func (s *MemoryStore) Claim(ctx context.Context, key Key, lease time.Duration) (Claim, error) {
	if err := ctx.Err(); err != nil {
		return Claim{}, err
	}
	if key.ID == "" {
		return Claim{}, fmt.Errorf("%w: claim of %q: give every message an ID", ErrNoKey, key.String())
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e != nil && now < e.until {
		st := Busy
		if e.status == Done {
			st = Done
		}
		return Claim{Key: key, Status: st, Until: s.at(e.until)}, nil
	}
	e, err := s.take(key, e, now)
	if err != nil {
		return Claim{}, err
	}
	s.hold(e, now.add(lease))
	return Claim{Key: key, Status: Acquired, Token: e.token, Until: s.at(e.until)}, nil
}

// Extend implements Store.
func (s *MemoryStore) Extend(ctx context.Context, c Claim, lease time.Duration) (Claim, error) {
	if err := ctx.Err(); err != nil {
		return Claim{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.owned(c, now)
	if err != nil {
		return Claim{}, err
	}
	s.hold(e, now.add(lease))
	return Claim{Key: c.Key, Status: Acquired, Token: e.token, Until: s.at(e.until)}, nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(ctx context.Context, c Claim, retention time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.owned(c, now)
	if err != nil {
		return err
	}
	e.status = Done
	e.until = now.add(retention)
	e.list.remove(e)
	s.done.pushFront(e)
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(ctx context.Context, c Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[c.Key]
	switch {
	case e == nil:
		return nil
	case e.status == Acquired && e.token == c.Token, now >= e.until:
		s.drop(e)
		return nil
	default:
		return fmt.Errorf("%w: release of %q", ErrLeaseLost, c.Key.String())
	}
}

// owned returns the entry held by c, taking the key again if it became
// free; it fails with ErrLeaseLost if someone else holds or completed it.
func (s *MemoryStore) owned(c Claim, now mono) (*memEntry, error) {
	e := s.entries[c.Key]
	if e != nil && e.status == Acquired && e.token == c.Token {
		return e, nil
	}
	if e != nil && now < e.until {
		return nil, fmt.Errorf("%w: %q is %s by another claim", ErrLeaseLost, c.Key.String(), e.status)
	}
	e, err := s.take(c.Key, e, now)
	if err != nil {
		return nil, err
	}
	s.hold(e, now) // placeholder lease; the caller sets the real state
	return e, nil
}

// take returns a fresh claim entry for key with a new token, reusing the
// expired entry e if there is one. The entry is not in any list yet.
func (s *MemoryStore) take(key Key, e *memEntry, now mono) (*memEntry, error) {
	if e != nil {
		e.list.remove(e)
	} else {
		s.sweep(now)
		if len(s.entries) >= s.max {
			if e = s.evict(now); e == nil {
				return nil, fmt.Errorf("%w: %d entries held", ErrFull, len(s.entries))
			}
		} else {
			e = &memEntry{}
		}
		// Copy the key into one string of its own, so that a key cut from
		// a large buffer (a message's headers) does not pin that buffer.
		all := key.Scope + key.Source + key.ID
		scopeEnd, sourceEnd := len(key.Scope), len(key.Scope)+len(key.Source)
		e.key = Key{Scope: all[:scopeEnd], Source: all[scopeEnd:sourceEnd], ID: all[sourceEnd:]}
		s.entries[e.key] = e
	}
	s.tokens++
	e.token = s.tokens
	e.status = Acquired
	return e, nil
}

// hold (re)starts e's lease and puts it at the front of the claims list.
func (s *MemoryStore) hold(e *memEntry, until mono) {
	if e.list != nil {
		e.list.remove(e)
	}
	e.status = Acquired
	e.until = until
	s.claims.pushFront(e)
}

func (s *MemoryStore) drop(e *memEntry) {
	e.list.remove(e)
	delete(s.entries, e.key)
}

// sweep removes a few expired records from the cold end of each list, so
// that memory is returned without a background goroutine. Lists are ordered
// by last write, which matches expiry order when leases and retention are
// constant; an entry out of order just waits for its turn or its next access.
func (s *MemoryStore) sweep(now mono) {
	const perCall = 2
	for _, l := range []*entryList{&s.claims, &s.done} {
		for i := 0; i < perCall; i++ {
			e := l.back()
			if e == nil || now < e.until {
				break
			}
			s.drop(e)
		}
	}
}

// evict makes room for one entry and returns the evicted one for reuse: an
// expired claim if there is one at the cold end, else the done record
// completed longest ago. Live claims are never evicted, since that would let
// a second handler run beside the first; nil means there was nothing else.
func (s *MemoryStore) evict(now mono) *memEntry {
	e := s.claims.back()
	if e == nil || now < e.until {
		e = s.done.back()
	}
	if e != nil {
		s.drop(e)
	}
	return e
}
