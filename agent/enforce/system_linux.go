package enforce

import (
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
)

// lastSystemPID is the last PID never to close: init.
const (
	lastSystemPID = 1
	systemProcess = "the init process"
)

// startSlack is how far a Linux start time may be from the key's and
// still match. The kernel keeps the start in ticks since boot, exactly;
// the wall-clock time is boot time plus ticks, and the boot time /proc/stat
// reports is a whole second derived from the wall clock at the time of
// reading. procwatch reads it once per watcher and this package once per
// enforcer, so the two can differ by a second when the clock was stepped
// in between (a leap second, an NTP correction that crosses a second).
// One second is far below the time the PID space takes to wrap around on
// any real machine, and the executable is checked as well.
const startSlack = time.Second

// exeMatches: see proctable.SameExe.
func exeMatches(want, got string) bool { return proctable.SameExe(want, got) }
