package enforce

import (
	"strings"
	"time"

	"github.com/vcguard/vcguard/agent/procwatch"
)

// The /proc parsing is procwatch's: the start time must be computed the
// way procwatch computes it for procwatch.Key to match.

// procStat is what the enforcer needs from a Linux /proc/PID/stat line.
type procStat struct {
	State byte
	PPID  int32
	// StartTicks is the start time in clock ticks (USER_HZ) since boot.
	StartTicks int64
}

// exited reports whether the process has exited and waits to be reaped.
func (s procStat) exited() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

func parseStat(b []byte) (procStat, error) {
	st, err := procwatch.ParseStat(b)
	if err != nil {
		return procStat{}, err
	}
	return procStat{State: st.State, PPID: st.PPID, StartTicks: int64(st.StartTicks)}, nil
}

func parseBootTime(b []byte) (int64, error) { return procwatch.ParseBootTime(b) }

// linuxStarted is the start time procwatch reports for a process that
// started ticks after a boot at bootSec (Unix seconds, /proc/stat btime).
func linuxStarted(bootSec, ticks int64) time.Time {
	return procwatch.LinuxStartTime(bootSec, uint64(ticks))
}

// linuxStartSlack is how far a Linux start time may be from the key's and
// still match. The kernel keeps the start in ticks since boot, exactly;
// the wall-clock time is boot time plus ticks, and the boot time /proc/stat
// reports is a whole second derived from the wall clock at the time of
// reading. procwatch reads it once per watcher and this package once per
// enforcer, so the two can differ by a second when the clock was stepped
// in between (a leap second, an NTP correction that crosses a second).
// One second is far below the time the PID space takes to wrap around on
// any real machine, and the executable is checked as well.
const linuxStartSlack = time.Second

// sameStart reports whether a start time matches a key's (Unix ms) within
// slack.
func sameStart(keyMilli int64, started time.Time, slack time.Duration) bool {
	d := started.UnixMilli() - keyMilli
	return d >= -slack.Milliseconds() && d <= slack.Milliseconds()
}

// sameExe reports whether a process's executable path is the one
// expected, ignoring the " (deleted)" Linux adds once the file was
// replaced (an app updated in place while it runs is still that app).
func sameExe(want, got string) bool {
	const deleted = " (deleted)"
	return strings.TrimSuffix(want, deleted) == strings.TrimSuffix(got, deleted)
}
