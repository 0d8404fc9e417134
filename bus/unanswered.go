package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A JetStream API request can go unanswered while a cluster elects its meta
// leader or a stream's leader: the request is lost, not refused. Bounded
// only by the caller's ctx, a provisioning step would then wait out the
// whole ctx (minutes, for a subscription set up with a generous one) while
// the cluster was ready again after seconds. So each attempt gets
// provisionAttempt of its own, and an unanswered one is made again, up to
// provisionAttempts times while ctx allows. Every step is safe to repeat:
// creating what exists reads it, and raising a setting twice raises it once.
const (
	provisionAttempt  = 15 * time.Second
	provisionAttempts = 4
)

// retryUnanswered runs op with a bounded ctx, again while its requests go
// unanswered (context.DeadlineExceeded of the attempt, not of ctx).
func retryUnanswered(ctx context.Context, op func(context.Context) error) error {
	for try := 1; ; try++ {
		attempt, cancel := context.WithTimeout(ctx, provisionAttempt)
		err := op(attempt)
		cancel()
		if err == nil || ctx.Err() != nil || try == provisionAttempts || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// provisionStream is provisionStreamOnce, made again when unanswered.
func provisionStream(ctx context.Context, b *Bus, want jetstream.StreamConfig, mode provisionMode) (ch Change, err error) {
	err = retryUnanswered(ctx, func(ctx context.Context) error {
		ch, err = provisionStreamOnce(ctx, b, want, mode)
		return err
	})
	return ch, err
}

// provisionConsumer is provisionConsumerOnce, made again when unanswered.
func provisionConsumer(ctx context.Context, b *Bus, stream string, want jetstream.ConsumerConfig, mode provisionMode) (c jetstream.Consumer, ch Change, err error) {
	err = retryUnanswered(ctx, func(ctx context.Context) error {
		c, ch, err = provisionConsumerOnce(ctx, b, stream, want, mode)
		return err
	})
	return c, ch, err
}
