package main

import "testing"

func TestJoinVersion(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"Microsoft Windows 10 Pro ", "", "(10.0.19045.0)"}, "Microsoft Windows 10 Pro (10.0.19045.0)"},
		{[]string{"debian", "12.8"}, "debian 12.8"},
		{[]string{"", ""}, ""},
	} {
		if got := joinVersion(tc.parts...); got != tc.want {
			t.Errorf("joinVersion(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
	if osVersion() == "" {
		t.Error("osVersion() is empty on this machine")
	}
}
