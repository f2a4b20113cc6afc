package localipc

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ProcessOwner returns the uid that owns process pid: the owner of
// /proc/<pid>, which is the process's effective uid (root for a process
// that made itself undumpable; such a process then belongs to nobody's
// session but root's).
func ProcessOwner(pid int) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w (%w)", pid, ErrNoOwner, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	return int(st.Uid), nil
}
