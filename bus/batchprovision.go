package bus

import (
	"context"
	"fmt"

	"github.com/choreo-bus/choreo/internal/version"
)

// batchMinServerVersion introduced fast-ingest batch publishing.
const batchMinServerVersion = "2.14.0"

// allowBatches turns on a stream's allow_batched setting once per bus. Like
// the other shared settings it is only ever raised: a bus that does not
// batch leaves it as it is.
func (c *streamCache) allowBatches(ctx context.Context, stream string) error {
	if v := c.b.nc.ConnectedServerVersion(); v != "" && !version.AtLeast(v, batchMinServerVersion) {
		return fmt.Errorf("%w; the server runs %s", ErrBatchUnsupported, v)
	}
	return c.onceFor(ctx, batchedKey(stream), func() error {
		s, err := c.b.js.Stream(ctx, stream)
		if err != nil {
			return fmt.Errorf("choreo/bus: reading stream %s: %w", stream, err)
		}
		cfg := s.CachedInfo().Config
		if cfg.AllowBatchPublish {
			return nil
		}
		if !c.b.cfg.provision {
			return c.b.settingNotProvisioned("allow_batched", stream, "batch publishing (PublishBatch, SendBatch)")
		}
		cfg.AllowBatchPublish = true
		info, err := c.b.js.UpdateStream(ctx, cfg)
		if err != nil {
			return fmt.Errorf("%w: stream %s: turning on allow_batched: %v", ErrIncompatible, stream, err)
		}
		if !info.CachedInfo().Config.AllowBatchPublish {
			// A server that does not know the setting ignores it.
			return fmt.Errorf("%w: stream %s did not keep allow_batched", ErrBatchUnsupported, stream)
		}
		c.b.cfg.logger.Info("choreo: stream settings raised for batch publishing", "stream", stream, "raised", "allow_batched false -> true")
		return nil
	})
}

// batchedKey is the provisioning key of a stream's allow_batched setting.
func batchedKey(stream string) string { return "batched " + stream }
