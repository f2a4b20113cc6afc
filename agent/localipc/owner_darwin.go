package localipc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ProcessOwner returns the effective uid of process pid (sysctl
// kern.proc.pid).
func ProcessOwner(pid int) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w (%w)", pid, ErrNoOwner, err)
	}
	if int(kp.Proc.P_pid) != pid {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	return int(kp.Eproc.Ucred.Uid), nil
}
