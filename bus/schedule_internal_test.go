package bus

import "testing"

func TestServerAtLeastReadsReleaseVersions(t *testing.T) {
	for _, c := range []struct {
		version string
		want    bool
	}{
		{"2.12.0", true}, {"2.15.2", true}, {"3.0.0", true}, {"2.14.0-RC.1", true},
		{"2.11.9", false}, {"1.99.0", false}, {"", false}, {"garbage", false}, {"2.x.1", false},
	} {
		if got := serverAtLeast(c.version, 2, 12); got != c.want {
			t.Errorf("serverAtLeast(%q, 2, 12) = %v, want %v", c.version, got, c.want)
		}
	}
}
