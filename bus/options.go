package bus

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/choreo-bus/choreo/topic"
	"github.com/nats-io/nats.go"
)

// Option configures a Bus (Connect, New).
type Option func(*config)

type config struct {
	source          string
	namespace       string
	logger          *slog.Logger
	middleware      []Middleware
	codec           Codec
	replicas        int
	eventMaxAge     time.Duration
	duplicateWindow time.Duration
	deadLetterAge   time.Duration
	deadLetterBytes int64
	asyncMaxPending int
	hooks           []Hooks
	natsOptions     []nats.Option
	provision       bool // false: WithoutProvisioning
}

func defaultConfig() config {
	return config{
		source:          defaultSource(),
		logger:          slog.New(slog.DiscardHandler),
		codec:           JSON(),
		replicas:        1,
		eventMaxAge:     7 * 24 * time.Hour,
		duplicateWindow: 2 * time.Minute,
		deadLetterAge:   30 * 24 * time.Hour,
		deadLetterBytes: 1 << 30,
		asyncMaxPending: 4096,
		provision:       true,
	}
}

// defaultSource names the service after its executable, so that a program
// that forgets WithSource still gets stable consumer names.
func defaultSource() string {
	return topic.GroupName(strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe"))
}

// WithSource names the service: it becomes the CloudEvents source of every
// message the bus sends and the name of the durable consumer behind
// HandleCommand, so every instance of one service shares its commands.
// Default: the executable's base name. Use a short stable name such as
// "accounts": letters, digits, '-' and '_'.
func WithSource(service string) Option { return func(c *config) { c.source = service } }

// WithNamespace prefixes every subject and stream with ns, so that two
// environments or tenants ("staging", "prod.eu") can share one cluster
// without seeing each other's messages. Default: no prefix.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithLogger sets the logger for the bus: debug per message, warn on a
// retry, error on a dead letter. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithMiddleware adds middleware to every handler of the bus. The first
// middleware is the outermost; bus-wide middleware wraps the middleware of
// an individual handler (Use).
func WithMiddleware(m ...Middleware) Option {
	return func(c *config) { c.middleware = append(c.middleware, m...) }
}

// WithCodec sets how payloads are encoded; its content type goes into
// ce-datacontenttype. Default: JSON().
func WithCodec(codec Codec) Option { return func(c *config) { c.codec = codec } }

// WithReplicas sets the replica count of the streams, consumers and
// dead-letter stream the bus creates: 3 on a three-node cluster survives the
// loss of one server. Default: 1.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithEventMaxAge sets how long event streams keep events (a subscriber
// group created later, or one that was down, can still read them within this
// time). Default: 7 days.
func WithEventMaxAge(d time.Duration) Option { return func(c *config) { c.eventMaxAge = d } }

// WithDuplicateWindow sets the streams' duplicate window: a second publish
// with the same message ID inside it is dropped by the server. Default: 2
// minutes.
func WithDuplicateWindow(d time.Duration) Option {
	return func(c *config) { c.duplicateWindow = d }
}

// WithDeadLetterMaxAge sets how long dead letters are kept before the
// server deletes them; a negative d keeps them until they are redelivered
// or purged. Default: 30 days. Like the other shared stream settings, it is
// only ever raised on an existing dead-letter stream.
func WithDeadLetterMaxAge(d time.Duration) Option {
	return func(c *config) { c.deadLetterAge = d }
}

// WithDeadLetterMaxBytes bounds the dead-letter stream's size; a negative
// n means no bound. When the stream is full, a new dead letter is refused
// rather than an old one dropped: the failing message then stays in its own
// stream and is retried at the longest back-off until an operator makes
// room (purges or redelivers dead letters), so nothing is lost silently.
// Default: 1 GiB.
func WithDeadLetterMaxBytes(n int64) Option {
	return func(c *config) { c.deadLetterBytes = n }
}

// WithAsyncMaxPending bounds the number of asynchronous publishes awaiting
// their acknowledgement; PublishAsync and SendAsync block (respecting their
// context) while the window is full. Default: 4096.
func WithAsyncMaxPending(n int) Option { return func(c *config) { c.asyncMaxPending = n } }

func (c *config) validate() error {
	if err := topic.ValidateGroup(c.source); err != nil {
		return optionError("source", err)
	}
	if err := validateNamespace(c.namespace); err != nil {
		return err
	}
	if c.codec == nil {
		return fmt.Errorf("%w: codec is nil; omit WithCodec to use JSON", ErrInvalidOption)
	}
	if c.replicas < 1 || c.replicas > 5 {
		return fmt.Errorf("%w: replicas %d: use 1 to 5 (3 on a three-node cluster)", ErrInvalidOption, c.replicas)
	}
	if c.eventMaxAge < 0 || c.duplicateWindow < 0 {
		return fmt.Errorf("%w: durations must not be negative", ErrInvalidOption)
	}
	if c.deadLetterAge == 0 || c.deadLetterBytes == 0 {
		return fmt.Errorf("%w: dead-letter max age and max bytes must not be 0; use a negative value for no limit", ErrInvalidOption)
	}
	if c.duplicateWindow > 0 && c.eventMaxAge > 0 && c.duplicateWindow > c.eventMaxAge {
		return fmt.Errorf("%w: duplicate window %s is longer than the event max age %s", ErrInvalidOption, c.duplicateWindow, c.eventMaxAge)
	}
	if c.asyncMaxPending < 1 {
		return fmt.Errorf("%w: async max pending %d must be at least 1", ErrInvalidOption, c.asyncMaxPending)
	}
	for i, m := range c.middleware {
		if m == nil {
			return fmt.Errorf("%w: middleware %d is nil", ErrInvalidOption, i)
		}
	}
	return nil
}

// validConsumerName reports whether s can be a consumer name that choreo
// made: ConsumerName's output, letters, digits, '-' and '_'.
func validConsumerName(s string) bool {
	if s == "" || len(s) > 2*topic.MaxGroupLen+topic.MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
