package bus

import (
	"testing"

	"github.com/choreo-bus/choreo/internal/version"
)

func TestScheduleMinServerVersion(t *testing.T) {
	for _, c := range []struct {
		version string
		want    bool
	}{
		{"2.12.0", true}, {"2.15.2", true}, {"3.0.0", true}, {"2.14.0-RC.1", true},
		{"2.11.9", false}, {"1.99.0", false}, {"", false}, {"garbage", false},
	} {
		if got := version.AtLeast(c.version, scheduleMinServerVersion); got != c.want {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", c.version, scheduleMinServerVersion, got, c.want)
		}
	}
}
