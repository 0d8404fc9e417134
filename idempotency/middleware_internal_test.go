package idempotency

import (
	"testing"
	"time"
)

func TestBusyDelay(t *testing.T) {
	t.Parallel()
	g := &guard{cfg: newConfig([]Option{WithBusyDelay(time.Second), WithLease(30 * time.Second)})}
	now := time.Now()
	tests := []struct {
		name    string
		attempt int
		until   time.Time
		want    time.Duration
	}{
		{"first attempt", 1, now.Add(20 * time.Second), time.Second},
		{"doubles per attempt", 3, now.Add(20 * time.Second), 4 * time.Second},
		{"never past the holder's lease", 6, now.Add(20 * time.Second), 20*time.Second + 100*time.Millisecond},
		{"lease about to end", 1, now.Add(50 * time.Millisecond), 150 * time.Millisecond},
		{"lease ended", 1, now.Add(-time.Second), 10 * time.Millisecond},
		{"unknown lease end is capped by our lease", 10, time.Time{}, 30 * time.Second},
		{"attempt 0 counts as 1", 0, now.Add(time.Minute), time.Second},
		{"huge attempt does not overflow", 1 << 30, time.Time{}, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := g.busyDelay(tc.attempt, tc.until, now); got != tc.want {
				t.Errorf("busyDelay(%d) = %v, want %v", tc.attempt, got, tc.want)
			}
		})
	}
}
