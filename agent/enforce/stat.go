package enforce

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Linux /proc parsing lives without a build tag so that it is tested
// on every OS. It follows procwatch's parseStat and parseBootTime, which
// are not exported: the start time must be computed the way procwatch
// computes it for procwatch.Key to match.

// procStat is what the enforcer needs from a Linux /proc/PID/stat line.
type procStat struct {
	State byte
	PPID  int32
	// StartTicks is the start time in clock ticks (USER_HZ) since boot.
	StartTicks int64
}

// exited reports whether the process has exited and waits to be reaped.
func (s procStat) exited() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

// parseStat decodes /proc/PID/stat: "pid (comm) state ppid ... starttime
// ...", starttime being the 22nd field. The comm may itself hold spaces
// and parentheses, so it runs to the last ')'.
func parseStat(b []byte) (procStat, error) {
	var st procStat
	end := bytes.LastIndexByte(b, ')')
	if bytes.IndexByte(b, '(') < 0 || end < 0 {
		return st, errors.New("stat: no (comm)")
	}
	fields := strings.Fields(string(b[end+1:]))
	// fields[0] is field 3 of the line (state), fields[19] field 22.
	if len(fields) < 20 {
		return st, fmt.Errorf("stat: only %d fields after comm, want at least 20", len(fields))
	}
	if len(fields[0]) != 1 {
		return st, fmt.Errorf("stat: state %q is not one letter", fields[0])
	}
	st.State = fields[0][0]
	ppid, err := strconv.ParseInt(fields[1], 10, 32)
	if err != nil {
		return st, fmt.Errorf("stat: ppid %q: %w", fields[1], err)
	}
	st.PPID = int32(ppid)
	if st.StartTicks, err = strconv.ParseInt(fields[19], 10, 64); err != nil {
		return st, fmt.Errorf("stat: starttime %q: %w", fields[19], err)
	}
	return st, nil
}

// parseBootTime finds "btime SECONDS" in /proc/stat.
func parseBootTime(b []byte) (int64, error) {
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: btime %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, errors.New("/proc/stat: no btime line")
}

// userHZ is the unit of starttime in /proc/PID/stat: USER_HZ, 100 on
// every architecture Go supports.
const userHZ = 100

// linuxStarted is the start time procwatch reports for a process that
// started ticks after a boot at bootSec (Unix seconds, /proc/stat btime).
func linuxStarted(bootSec, ticks int64) time.Time {
	return time.Unix(bootSec, 0).Add(time.Duration(ticks) * (time.Second / userHZ))
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
