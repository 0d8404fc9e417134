// Package unanswered repeats JetStream requests that got no answer.
//
// A JetStream API request can go unanswered while a cluster elects its
// meta leader or a stream's leader: the request is lost, not refused.
// Bounded only by the caller's ctx, a set-up step (creating a stream, a
// consumer, a key-value bucket) would wait out the whole ctx, minutes for
// a generous one, while the cluster was ready again after seconds. Retry
// gives each attempt a deadline of its own and makes an unanswered one
// again. Only steps that are safe to repeat may use it: creating what
// exists must read it, raising a setting twice must raise it once.
package unanswered

import (
	"context"
	"errors"
	"time"
)

// Retry runs op with a ctx bounded by attempt, again while an attempt's
// own deadline passes unanswered (context.DeadlineExceeded while ctx
// itself is still live), up to attempts times in all. It returns op's last
// error.
func Retry(ctx context.Context, attempt time.Duration, attempts int, op func(context.Context) error) error {
	for try := 1; ; try++ {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := op(actx)
		cancel()
		if err == nil || ctx.Err() != nil || try >= attempts || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}
