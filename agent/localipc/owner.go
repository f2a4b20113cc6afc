package localipc

import (
	"fmt"

	"github.com/vcguard/vcguard/agent/proctable"
)

// ProcessOwner returns who owns process pid in the terms of a session's
// UID (Session.UID, CurrentUID): the effective uid on Linux and macOS, the
// terminal-services session on Windows. The service checks it before it
// takes a notifier's word about a process: a user may only speak for
// their own processes. It reads the one process table (package
// proctable); calls are rare (a notice, a budgeted media report), so each
// reads a fresh table.
func ProcessOwner(pid int) (int, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	tab := proctable.New(proctable.Config{})
	defer tab.Close()
	o, err := tab.Owner(int32(pid))
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w (%w)", pid, ErrNoOwner, err)
	}
	id := sessionOwner(o)
	if id < 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNoOwner)
	}
	return id, nil
}
