package localipc

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// ProcessOwner returns the terminal-services session id of process pid:
// on Windows a notifier's "uid" is its session id (see CurrentUID), so a
// process belongs to the notifier of its session.
func ProcessOwner(pid int) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	var sid uint32
	if err := windows.ProcessIdToSessionId(uint32(pid), &sid); err != nil {
		return 0, fmt.Errorf("pid %d: %w (%w)", pid, ErrNoOwner, err)
	}
	return int(sid), nil
}
