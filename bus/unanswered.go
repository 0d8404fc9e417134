package bus

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/internal/unanswered"
)

// Each provisioning step gets provisionAttempt of its own and is made
// again when unanswered (see internal/unanswered), up to provisionAttempts
// times while ctx allows. Every step is safe to repeat: creating what
// exists reads it, and raising a setting twice raises it once.
const (
	provisionAttempt  = 15 * time.Second
	provisionAttempts = 4
)

// provisionStream is provisionStreamOnce, made again when unanswered.
func provisionStream(ctx context.Context, b *Bus, want jetstream.StreamConfig, mode provisionMode) (ch Change, err error) {
	err = unanswered.Retry(ctx, provisionAttempt, provisionAttempts, func(ctx context.Context) error {
		ch, err = provisionStreamOnce(ctx, b, want, mode)
		return err
	})
	return ch, err
}

// provisionConsumer is provisionConsumerOnce, made again when unanswered.
func provisionConsumer(ctx context.Context, b *Bus, stream string, want jetstream.ConsumerConfig, mode provisionMode) (c jetstream.Consumer, ch Change, err error) {
	err = unanswered.Retry(ctx, provisionAttempt, provisionAttempts, func(ctx context.Context) error {
		c, ch, err = provisionConsumerOnce(ctx, b, stream, want, mode)
		return err
	})
	return c, ch, err
}
