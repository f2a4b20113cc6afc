//go:build linux || darwin

package proctable

import (
	"os"
	"syscall"
	"testing"
)

const sigKill = syscall.SIGKILL

// truncName is the short name the kernel keeps: 15 bytes on Linux (comm),
// 16 on macOS (p_comm, MAXCOMLEN).
func truncName(s string) string {
	if len(s) > commLen {
		return s[:commLen]
	}
	return s
}

func checkOwnerSelf(t *testing.T, o Owner) {
	if o.UID != os.Getuid() || o.SID != "" {
		t.Errorf("Owner = %+v, want uid %d", o, os.Getuid())
	}
}
