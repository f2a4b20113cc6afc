package enforce

import (
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

func TestSameStart(t *testing.T) {
	t.Parallel()
	started := proctable.LinuxStartTime(1700000000, 12345) // 123.45 s after boot
	key := int64(1700000123450)
	if started.UnixMilli() != key {
		t.Fatalf("LinuxStartTime = %d ms, want %d", started.UnixMilli(), key)
	}
	tests := []struct {
		key   int64
		slack time.Duration
		want  bool
	}{
		{key, 0, true},
		{key + 1, 0, false},
		{key - 1000, time.Second, true}, // boot time read a second apart
		{key + 1000, time.Second, true},
		{key + 1001, time.Second, false},
		{key + int64(time.Hour/time.Millisecond), time.Second, false},
	}
	for _, tt := range tests {
		if got := sameStart(tt.key, started, tt.slack); got != tt.want {
			t.Errorf("sameStart(%d, %d, %v) = %v, want %v", tt.key, key, tt.slack, got, tt.want)
		}
	}
}
