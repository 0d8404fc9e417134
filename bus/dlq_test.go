package bus_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus/bustest"
)

// Every DeadLetters call creates an ordered (ephemeral) consumer on the
// dead-letter stream and never deletes it; it lingers on the server until
// its inactivity threshold (minutes). A dashboard polling DeadLetters every
// second piles up hundreds of consumers.
func TestDeadLettersLeavesNoConsumersBehind(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	ctx := ctxT(t)
	provisionDeadLetters(t, b)
	_, err := b.JetStream().Publish(ctx, "dlq.EVT_user.sink__v1_user_signedup", []byte("x"))
	require.NoError(t, err)
	for range 10 {
		dls, err := allDeadLetters(ctx, b)
		require.NoError(t, err)
		require.Len(t, dls, 1)
	}
	s, err := b.JetStream().Stream(ctx, "DLQ")
	require.NoError(t, err)
	eventually(t, 3*time.Second, func() bool {
		info, err := s.Info(ctx)
		return err == nil && info.State.Consumers == 0
	}, "DeadLetters left consumers on the dead-letter stream")
}
