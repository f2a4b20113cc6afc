//go:build !linux && !darwin && !windows

package localipc

import (
	"fmt"
	"runtime"
)

// ProcessOwner is not implemented on this OS (nor is the notifier IPC).
func ProcessOwner(pid int) (int, error) {
	return 0, fmt.Errorf("pid %d: %w: not implemented on %s", pid, ErrNoOwner, runtime.GOOS)
}
