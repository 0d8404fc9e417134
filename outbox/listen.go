package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// listen keeps a PostgreSQL connection listening on the outbox channel and
// calls wake on every notification (a commit that added rows), and once
// after each (re)connection for the rows committed while it was not
// listening. It returns when ctx ends.
func (o *Outbox) listen(ctx context.Context, wake func()) {
	backoff := o.cfg.minBackoff
	for ctx.Err() == nil {
		err := o.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: relay's LISTEN connection failed; polling until it is back",
			slog.Duration("retry_in", backoff), slog.Any("error", err))
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, o.cfg.maxBackoff)
	}
}

func (o *Outbox) listenOnce(ctx context.Context, wake func()) error {
	conn, err := o.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("connection is a %T, not pgx's", dc)
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
			return err
		}
		defer func() {
			// The connection goes back to the pool: stop its listening
			// (a connection broken by ctx's end is discarded anyway).
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = pc.Exec(uctx, "UNLISTEN *")
			cancel()
		}()
		wake()
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				if errors.Is(err, context.Canceled) || ctx.Err() != nil {
					return nil
				}
				return err
			}
			wake()
		}
	})
}
