package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Before redelivered dead letters carried a Choreo-Redeliver-To header,
// Redeliver put them on a subject of their own, <topic>._redeliver.<consumer>,
// and every consumer filtered on both subjects. This file moves what an
// older choreo left behind, so that upgrading loses nothing.
const legacyRedeliverInfix = "._redeliver."

func legacyRedeliverSubject(subject, consumer string) string {
	return subject + legacyRedeliverInfix + consumer
}

// topicSubject strips the legacy redelivery suffix from a subject, for a
// message that was stored there by an older choreo.
func topicSubject(subject string) string {
	if i := strings.Index(subject, legacyRedeliverInfix); i >= 0 {
		return subject[:i]
	}
	return subject
}

// upgradeLegacyConsumer runs before a consumer made by an older choreo
// (two filter subjects) is updated to its single topic subject: it moves
// every message still waiting on the consumer's old redelivery subject to
// the topic subject, addressed to the consumer with Choreo-Redeliver-To.
// Moving first and updating after means a failure leaves the old consumer
// as it was, still able to read those messages, and the next Subscribe
// tries again. A moved copy's Nats-Msg-Id comes from the old message's
// place in the stream (not its own id, which the stream may still hold in
// its duplicate window), so a move repeated after a crash between publish
// and delete is dropped as a duplicate.
func (b *Bus) upgradeLegacyConsumer(ctx context.Context, stream string, have, want jetstream.ConsumerConfig) error {
	legacy := legacyRedeliverSubject(want.FilterSubject, want.Durable)
	if want.FilterSubject == "" || !slices.Contains(filterSubjects(have), legacy) {
		return nil
	}
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("choreo/bus: upgrading consumer %s: %w", want.Durable, err)
	}
	moved := 0
	for {
		old, err := s.GetLastMsgForSubject(ctx, legacy)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("choreo/bus: upgrading consumer %s: reading %s: %w", want.Durable, legacy, err)
		}
		h := make(nats.Header, len(old.Header)+1)
		for k, v := range old.Header {
			h[k] = v
		}
		h.Set(hdrRedeliverTo, want.Durable)
		h.Set(jetstream.MsgIDHeader, "moved:"+stream+":"+strconv.FormatUint(old.Sequence, 10))
		if _, err := b.js.PublishMsg(ctx, &nats.Msg{Subject: want.FilterSubject, Header: h, Data: old.Data}); err != nil {
			return fmt.Errorf("choreo/bus: upgrading consumer %s: moving redelivered message %d: %w", want.Durable, old.Sequence, err)
		}
		if err := s.DeleteMsg(ctx, old.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("choreo/bus: upgrading consumer %s: removing moved message %d: %w", want.Durable, old.Sequence, err)
		}
		moved++
	}
	if moved > 0 {
		b.cfg.logger.Warn("choreo: moved redelivered dead letters from the old redelivery subject",
			"consumer", want.Durable, "stream", stream, "subject", legacy, "messages", moved)
	}
	return nil
}
