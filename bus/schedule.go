package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/choreo-bus/choreo/internal/version"
	"github.com/choreo-bus/choreo/topic"
)

// Delayed and scheduled messages are stored at once and delivered later by
// nats-server itself (message schedules, nats-server 2.12 and later), so a
// pending message survives restarts of the sender, the handlers and the
// server, and no client keeps a timer. The bus publishes a schedule message
// on topic.ScheduleSubject in the topic's stream, carrying the whole
// CloudEvent and two headers:
//
//	Nats-Schedule:        @at 2026-11-30T04:30:00.25Z   (RFC 3339, UTC)
//	Nats-Schedule-Target: cmd.v1.user.remind           (the topic's subject)
//
// At that time the server publishes a copy on the target, with every header
// of the schedule except Nats-Msg-Id and the Nats-Schedule* ones (it adds
// Nats-Scheduler and Nats-Schedule-Next), and then removes the schedule. So
// the handler sees the original envelope: its id, time, correlation and
// causation. The stream must allow message schedules; the bus turns that on
// the first time it sends a delayed message on the stream (see
// ensureSchedules).

// scheduleMinServerVersion is the first nats-server release with message
// schedules.
const scheduleMinServerVersion = "2.12.0"

// WithDelay delivers the message d from now instead of at once: Send or
// Publish stores it now (the Receipt is the stored schedule's) and the
// server hands it to handlers at that time, even if the sender, the
// handlers or the server restarted in between. The handler sees the
// message as it was sent: its own id, ce-time (when it was sent) and
// correlation chain. A d of zero or less sends at once, as without the
// option. Needs nats-server 2.12 or later; the topic's stream is set to
// allow message schedules the first time (see docs/wire.md). The message's
// id deduplicates the scheduling as it does any publish, and while it is
// pending, scheduling the same id again replaces it rather than adding a
// second delivery. Delivery is at or after the time, never before; the
// server checks for due messages at most every 250 ms, and messages that
// fall due together are delivered in the order they were sent. An event
// must be due within its stream's max age (WithEventMaxAge).
func WithDelay(d time.Duration) PublishOption {
	return func(p *publishConfig) { p.timing, p.delay = timingDelay, d }
}

// WithDeliverAt delivers the message at t instead of at once; see
// WithDelay. A t not in the future sends at once; the zero time is an
// ErrInvalidOption error.
func WithDeliverAt(t time.Time) PublishOption {
	return func(p *publishConfig) { p.timing, p.deliverAt = timingAt, t }
}

// When a message is delivered: at once, or as WithDelay or WithDeliverAt
// (the last given wins).
const (
	timingNow uint8 = iota
	timingDelay
	timingAt
)

// deliveryTime reports when a message sent at now is to be delivered, and
// whether that is later than now (so it must be scheduled).
func (p *publishConfig) deliveryTime(now time.Time) (time.Time, bool, error) {
	var at time.Time
	switch p.timing {
	case timingNow:
		return time.Time{}, false, nil
	case timingDelay:
		at = now.Add(p.delay)
	default:
		if p.deliverAt.IsZero() {
			return time.Time{}, false, fmt.Errorf("%w: WithDeliverAt got the zero time; pass the time to deliver at", ErrInvalidOption)
		}
		at = p.deliverAt
	}
	return at, at.After(now), nil
}

// schedule turns msg, ready for the topic's subject, into the schedule
// message that makes the server publish it there at at.
func (b *Bus) schedule(ctx context.Context, n topic.Name, r *route, msg *nats.Msg, at time.Time) error {
	maxAge, err := b.streams.ensureSchedules(ctx, r.stream)
	if err != nil {
		return err
	}
	if maxAge > 0 && time.Until(at) >= maxAge {
		return fmt.Errorf("%w: %s is due in %s, but stream %s keeps messages for %s, so the pending message would expire first; deliver sooner or raise the max age (WithEventMaxAge)",
			ErrInvalidOption, n, time.Until(at).Round(time.Second), r.stream, maxAge)
	}
	msg.Subject = topic.ScheduleSubject(r.subject, msg.Header.Get(jetstream.MsgIDHeader))
	msg.Header.Set(jetstream.ScheduleHeader, "@at "+at.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(jetstream.ScheduleTargetHeader, r.subject)
	return nil
}

// reroute points a prepared message at its topic's route again after the
// stream was provisioned anew: an ordinary message takes the subject, a
// scheduled one (whose subject and target are already right) needs the
// recreated stream to allow schedules again.
func (b *Bus) reroute(ctx context.Context, r *route, p *prepared) error {
	if !p.scheduled {
		p.msg.Subject = r.subject
		return nil
	}
	_, err := b.streams.ensureSchedules(ctx, r.stream)
	return err
}

// schedulesDisabled reports whether the server refused a schedule because
// its stream does not allow schedules: the stream was recreated (by
// another service, without them) since this bus turned them on.
func schedulesDisabled(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeMessageSchedulesDisabled
}

// ensureSchedules makes sure a topic stream allows message schedules, once
// per bus and stream, and returns the stream's max age. It only ever turns
// the setting on (the server refuses to turn it off again). Allowing
// schedules makes the server allow roll-ups on the stream too (it needs
// them to replace a schedule), which is why the bus turns it on only for
// streams that carry delayed messages.
func (c *streamCache) ensureSchedules(ctx context.Context, stream string) (time.Duration, error) {
	c.mu.Lock()
	e := c.streams[stream]
	if e == nil {
		e = &streamEntry{}
		c.streams[stream] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.schedules {
		return e.maxAge, nil
	}
	s, err := c.b.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("choreo/bus: reading stream %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	if !cfg.AllowMsgSchedules {
		if !c.b.cfg.provision {
			return 0, c.b.settingNotProvisioned("allow_msg_schedules", stream, "a delayed message (WithDelay, WithDeliverAt)")
		}
		if err := c.allowSchedules(ctx, cfg); err != nil {
			return 0, err
		}
	}
	e.schedules, e.maxAge = true, cfg.MaxAge
	return e.maxAge, nil
}

// allowSchedules turns message schedules on for the stream of cfg.
func (c *streamCache) allowSchedules(ctx context.Context, cfg jetstream.StreamConfig) error {
	serverVersion := c.b.nc.ConnectedServerVersion()
	if !version.AtLeast(serverVersion, scheduleMinServerVersion) {
		return fmt.Errorf("%w: nats-server %s cannot deliver messages later; WithDelay and WithDeliverAt need nats-server %s or later: upgrade the server, or send without a delay",
			ErrIncompatible, serverVersion, scheduleMinServerVersion)
	}
	cfg.AllowMsgSchedules = true
	info, err := c.b.js.UpdateStream(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w: stream %s cannot allow message schedules, which delayed messages need: %v", ErrIncompatible, cfg.Name, err)
	}
	if !info.CachedInfo().Config.AllowMsgSchedules {
		// A server that does not know the setting ignores it: a cluster
		// with a node older than the one this client is connected to.
		return fmt.Errorf("%w: stream %s did not keep allow_msg_schedules; every server of the cluster must be nats-server %s or later for delayed messages",
			ErrIncompatible, cfg.Name, scheduleMinServerVersion)
	}
	c.b.cfg.logger.Warn("choreo: stream now allows message schedules (for delayed messages), and with them roll-ups", "stream", cfg.Name)
	return nil
}

// isScheduleHeader reports whether a header belongs to nats-server's
// message schedules (Nats-Schedule, Nats-Schedule-*, Nats-Scheduler): a
// delivered copy of a delayed message carries Nats-Scheduler and
// Nats-Schedule-Next, which must not travel on into a dead letter (a stream
// without schedules refuses them).
func isScheduleHeader(key string) bool { return strings.HasPrefix(key, jetstream.ScheduleHeader) }
