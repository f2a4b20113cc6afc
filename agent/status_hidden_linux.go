package agent

import (
	"errors"
	"os"
)

// othersProcessesHidden reports whether procfs hides other users'
// processes from this one (mounted with hidepid=2, or invisible=): then
// init, PID 1, is not there for it.
func othersProcessesHidden() bool {
	if os.Geteuid() == 0 {
		return false
	}
	_, err := os.Stat("/proc/1")
	return errors.Is(err, os.ErrNotExist)
}
