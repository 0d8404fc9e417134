package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/choreo-bus/choreo/internal/unanswered"
	"github.com/choreo-bus/choreo/internal/version"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// KVMarkerTTL is how long a bucket made by NewKVStore keeps the marker the
// server leaves when a record's TTL runs out. Markers are what lets per-key
// TTLs work at all; they carry no data.
const KVMarkerTTL = time.Minute

// KVOption configures NewKVStore.
type KVOption func(*kvConfig)

type kvConfig struct {
	replicas int
	storage  jetstream.StorageType
	existing bool
}

// WithExistingBucket makes NewKVStore open the bucket without ever
// creating it, for a service that runs without the right to create
// streams (bus.WithoutProvisioning): a missing bucket is an error matching
// jetstream.ErrBucketNotFound that names `choreo provision`, which creates
// the inbox bucket of every catalog service with "inbox: true".
func WithExistingBucket() KVOption {
	return func(c *kvConfig) { c.existing = true }
}

// WithReplicas sets how many servers of a cluster keep the bucket. Default
// 1; n <= 0 means the default. It must match an existing bucket's.
func WithReplicas(n int) KVOption {
	return func(c *kvConfig) { c.replicas = n }
}

// WithStorage chooses file or memory storage for the bucket. Default
// jetstream.FileStorage, which keeps records across server restarts; with
// memory storage a restart forgets every done key, so duplicates arriving
// after it run again. It must match an existing bucket's.
func WithStorage(t jetstream.StorageType) KVOption {
	return func(c *kvConfig) { c.storage = t }
}

// KVStore is a Store in a JetStream key-value bucket, shared by every
// instance of a service: a claim is a create-if-absent of the key with a
// per-key TTL equal to the lease, a completion replaces it with a "done"
// record whose TTL is the retention, and every later write names the
// revision it expects, so an instance whose lease ran out can never
// overwrite a claim taken since by another (its write fails with
// ErrLeaseLost).
//
// The KeyValue interface has no conditional write with a TTL (Update drops
// a key's TTL), so those writes are published on the bucket's subjects
// directly, as the KV protocol defines them; the bucket stays an ordinary
// KV bucket that `nats kv` can read. Leases and retention are rounded up to
// whole seconds, the granularity of per-message TTLs (one second at least),
// and expire by the server's clock. Needs nats-server 2.11 or later. All
// methods are safe for concurrent use.
type KVStore struct {
	kv        jetstream.KeyValue
	js        jetstream.JetStream
	stream    jetstream.Stream // the bucket's stream, read directly
	bucket    string
	putPrefix string // subject prefix of the bucket's keys, for writes with a TTL
	markerTTL time.Duration
}

// NewKVStore opens the bucket, creating it if needed with one record per
// key, per-key TTLs enabled, and the replicas and storage from opts. An
// existing bucket is used as it is if it is compatible, and is never
// changed: a bucket without per-key TTLs, a mirror, or one whose replicas or
// storage differ from opts is an error matching jetstream.ErrBucketExists.
// Give the store a bucket of its own; records of other writers are errors.
func NewKVStore(ctx context.Context, js jetstream.JetStream, bucket string, opts ...KVOption) (*KVStore, error) {
	cfg := kvConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.replicas <= 0 {
		cfg.replicas = 1
	}
	if js == nil {
		return nil, errors.New("choreo/idempotency: NewKVStore needs a JetStream handle (jetstream.New(nc) or bus.JetStream())")
	}
	if v := js.Conn().ConnectedServerVersion(); v != "" && !version.AtLeast(v, "2.11.0") {
		return nil, fmt.Errorf("choreo/idempotency: KV bucket %q: the KV store needs nats-server 2.11 or newer (per-key TTLs), found %s; upgrade the server or use another Store", bucket, v)
	}
	var kv jetstream.KeyValue
	var err error
	if cfg.existing {
		kv, err = openKVBucket(ctx, js, bucket, cfg)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			err = fmt.Errorf("%w; it is opened WithExistingBucket and may not be created here: run `choreo provision -catalog <your catalog.yaml>` with an operator's credentials (the service needs \"inbox: true\" in the catalog)", err)
		}
	} else {
		kv, err = createKVBucket(ctx, js, bucket, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("choreo/idempotency: KV bucket %q: %w", bucket, err)
	}
	status, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("choreo/idempotency: KV bucket %q: %w", bucket, err)
	}
	stream, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("choreo/idempotency: KV bucket %q: its stream: %w", bucket, err)
	}
	prefix := "$KV." + bucket + "."
	// Writes go where the jetstream package sends its own KV writes.
	if p := js.Options().APIPrefix; p != "" && p != jetstream.DefaultAPIPrefix {
		prefix = p + prefix
	}
	return &KVStore{kv: kv, js: js, stream: stream, bucket: bucket, putPrefix: prefix, markerTTL: status.LimitMarkerTTL()}, nil
}

// openKVBucket opens an existing bucket after checking it can hold leases.
func openKVBucket(ctx context.Context, js jetstream.JetStream, bucket string, cfg kvConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, err
	}
	status, err := kv.Status(ctx)
	if err != nil {
		return nil, err
	}
	have := status.Config()
	switch {
	case have.Mirror != nil:
		return nil, fmt.Errorf("%w: it mirrors another bucket; give the store a bucket of its own", jetstream.ErrBucketExists)
	case status.LimitMarkerTTL() <= 0:
		return nil, fmt.Errorf("%w without per-key TTLs (LimitMarkerTTL), which leases need; delete it or name another", jetstream.ErrBucketExists)
	case have.Replicas != cfg.replicas:
		return nil, fmt.Errorf("%w with %d replicas, not the %d asked for; match WithReplicas to it or move it", jetstream.ErrBucketExists, have.Replicas, cfg.replicas)
	case have.Storage != cfg.storage:
		return nil, fmt.Errorf("%w with %s storage, not the %s asked for; match WithStorage to it", jetstream.ErrBucketExists, have.Storage, cfg.storage)
	}
	return kv, nil
}

// Bucket returns the bucket name.
func (s *KVStore) Bucket() string { return s.bucket }

// Claim implements Store with one round trip for a new key and two for a
// key that exists.
func (s *KVStore) Claim(ctx context.Context, key Key, lease time.Duration) (Claim, error) {
	if key.ID == "" {
		return Claim{}, fmt.Errorf("%w: claim of %q: give every message an ID", ErrNoKey, key.String())
	}
	ttl := ttlSeconds(lease)
	until := time.Now().Add(ttl)
	rev, held, err := s.take(ctx, kvKey(key), claimedValue(until), ttl)
	if err != nil {
		return Claim{}, s.fail("claim", key, err)
	}
	if rev != 0 {
		return Claim{Key: key, Status: Acquired, Token: rev, Until: until}, nil
	}
	st, until, err := parseKVValue(held)
	if err != nil {
		return Claim{}, s.fail("claim", key, err)
	}
	return Claim{Key: key, Status: st, Until: until}, nil
}

// Extend implements Store. The returned claim has a new Token (the new
// revision).
func (s *KVStore) Extend(ctx context.Context, c Claim, lease time.Duration) (Claim, error) {
	ttl := ttlSeconds(lease)
	until := time.Now().Add(ttl)
	rev, err := s.replace(ctx, c, claimedValue(until), ttl)
	if err != nil {
		return Claim{}, s.fail("extend", c.Key, err)
	}
	return Claim{Key: c.Key, Status: Acquired, Token: rev, Until: until}, nil
}

// Complete implements Store.
func (s *KVStore) Complete(ctx context.Context, c Claim, retention time.Duration) error {
	if _, err := s.replace(ctx, c, []byte(doneValue), ttlSeconds(retention)); err != nil {
		return s.fail("complete", c.Key, err)
	}
	return nil
}

// Release implements Store. It leaves a purge marker that the server
// removes after the bucket's marker TTL.
func (s *KVStore) Release(ctx context.Context, c Claim) error {
	k := kvKey(c.Key)
	// Token 0 is no revision (and LastRevision(0) would purge whatever is
	// there), so such a claim can only find the key free or lose it.
	if c.Token != 0 {
		err := s.kv.Purge(ctx, k, jetstream.LastRevision(c.Token), jetstream.PurgeTTL(s.markerTTL))
		if err == nil || !isConflict(err) {
			return s.fail("release", c.Key, err)
		}
	}
	// Someone wrote since our claim: fine if the key is free now.
	_, _, free, err := s.last(ctx, k)
	switch {
	case err != nil:
		return s.fail("release", c.Key, err)
	case free:
		return nil
	default:
		return s.fail("release", c.Key, ErrLeaseLost)
	}
}

// replace writes value with ttl over the claim held by c.Token, or over a
// free key; it fails with ErrLeaseLost if another claim got there first.
func (s *KVStore) replace(ctx context.Context, c Claim, value []byte, ttl time.Duration) (uint64, error) {
	k := kvKey(c.Key)
	if c.Token != 0 {
		rev, err := s.write(ctx, k, value, c.Token, ttl)
		if !isConflict(err) {
			return rev, err
		}
	}
	// Our revision is gone: the lease ran out, and the key is either free
	// (take it again) or someone else's.
	rev, _, err := s.take(ctx, k, value, ttl)
	if err == nil && rev == 0 {
		err = ErrLeaseLost
	}
	return rev, err
}

// take writes value with ttl if the key is free and returns the new
// revision; if the key holds a record, it returns revision 0 and the
// record. A new key costs one round trip, a held key two; a key freed by a
// marker (released, or expired) three.
func (s *KVStore) take(ctx context.Context, k string, value []byte, ttl time.Duration) (uint64, []byte, error) {
	var expect uint64 // no message on the subject at all
	// A key can change hands between the failed write and the read; try
	// again then, but not forever: a key that keeps changing hands is busy.
	for range 3 {
		rev, err := s.write(ctx, k, value, expect, ttl)
		if !isConflict(err) {
			return rev, nil, err
		}
		seq, held, free, err := s.last(ctx, k)
		if err != nil {
			return 0, nil, err
		}
		if !free {
			return 0, held, nil
		}
		expect = seq // write over the marker
	}
	return 0, []byte(claimedPrefix + time.Now().UTC().Format(time.RFC3339Nano)), nil
}

// write stores value with ttl under k if the key's last revision is rev (0:
// no message at all). The KeyValue API cannot do this in one call (Update
// drops the TTL), so it speaks the KV protocol: a publish on the key's
// subject with the expected last subject sequence and a message TTL.
func (s *KVStore) write(ctx context.Context, k string, value []byte, rev uint64, ttl time.Duration) (uint64, error) {
	m := &nats.Msg{Subject: s.putPrefix + k, Data: value, Header: nats.Header{
		jetstream.ExpectedLastSubjSeqHeader: {strconv.FormatUint(rev, 10)},
		jetstream.MsgTTLHeader:              {ttlHeader(ttl)},
	}}
	ack, err := s.js.PublishMsg(ctx, m)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// last reads the key's last message: a record (free false, its value), or
// a delete, purge or TTL marker or nothing at all (free true, with the
// marker's sequence, or 0).
func (s *KVStore) last(ctx context.Context, k string) (seq uint64, value []byte, free bool, err error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, "$KV."+s.bucket+"."+k)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil, true, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" || m.Header.Get(jetstream.MarkerReasonHeader) != "" {
		return m.Sequence, nil, true, nil
	}
	return m.Sequence, m.Data, false, nil
}

// fail wraps a store error with what was being done; nil stays nil.
func (s *KVStore) fail(op string, key Key, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("choreo/idempotency: KV bucket %q: %s %q: %w", s.bucket, op, key.String(), err)
}

// isConflict reports whether err is the server refusing a write because the
// key's last revision is not the one expected.
func isConflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// kvCreateAttempt bounds one request to create or open the bucket. A
// JetStream API request can go unanswered while a cluster elects its meta
// leader (the request is lost, not refused); without a bound of its own it
// would wait out the caller's whole ctx. Creating is idempotent (an
// existing bucket is opened), so an unanswered attempt is made again, up to
// kvCreateAttempts times while ctx allows.
const (
	kvCreateAttempt  = 15 * time.Second
	kvCreateAttempts = 4
)

func createKVBucket(ctx context.Context, js jetstream.JetStream, bucket string, cfg kvConfig) (kv jetstream.KeyValue, err error) {
	err = unanswered.Retry(ctx, kvCreateAttempt, kvCreateAttempts, func(ctx context.Context) error {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:         bucket,
			Description:    "choreo idempotency records (claims and done keys)",
			History:        1,
			Replicas:       cfg.replicas,
			Storage:        cfg.storage,
			LimitMarkerTTL: KVMarkerTTL,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = openKVBucket(ctx, js, bucket, cfg)
		}
		return err
	})
	return kv, err
}
