package version

import "testing"

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		ok         bool
	}{
		{"2.10.29", "2.10.0", true},
		{"2.10.29", "2.11.0", false},
		{"2.11.0-beta.1", "2.11.0", true},
		{"v2.12.1", "2.11.0", true},
		{"3.0.0", "2.11.0", true},
		{"2.9.25", "2.10.0", false},
		{"2.10", "2.10.0", true},
		{"garbage", "2.10.0", false},
		{"", "0.0.0", true},
	} {
		if got := AtLeast(tc.have, tc.want); got != tc.ok {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", tc.have, tc.want, got, tc.ok)
		}
	}
}
