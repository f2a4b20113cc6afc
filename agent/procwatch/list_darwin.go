package procwatch

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// osEntry is one process in a cheap OS listing.
type osEntry struct {
	PID, PPID int32
	// Started is when the process started; zero when the listing does not
	// carry it (Windows).
	Started time.Time
	// Name is the short name the OS lists: on macOS kinfo_proc's p_comm,
	// the executable's base name cut to 16 bytes (MAXCOMLEN).
	Name string
}

// sZomb is SZOMB from <sys/proc.h>: the process has exited and waits for
// its parent to reap it.
const sZomb = 5

// listProcs lists every process with one sysctl (kern.proc.all), skipping
// zombies and the kernel (PID 0). The kernel fills one kinfo_proc per
// process; x/sys retries when the table grows between its size query and
// the read.
func listProcs() ([]osEntry, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("list processes: sysctl kern.proc.all: %w", err)
	}
	out := make([]osEntry, 0, len(kps))
	for i := range kps {
		kp := &kps[i] // 648 bytes: do not copy
		if kp.Proc.P_pid <= 0 || kp.Proc.P_stat == sZomb {
			continue
		}
		out = append(out, osEntry{
			PID:     kp.Proc.P_pid,
			PPID:    kp.Eproc.Ppid,
			Started: kinfoStarted(kp),
			Name:    unix.ByteSliceToString(kp.Proc.P_comm[:]),
		})
	}
	return out, nil
}

func kinfoStarted(kp *unix.KinfoProc) time.Time {
	return time.Unix(kp.Proc.P_starttime.Unix())
}

// startTime returns when pid started, from sysctl kern.proc.pid.
func startTime(pid int32) (time.Time, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	switch {
	case errors.Is(err, unix.EIO), errors.Is(err, unix.ESRCH):
		// For a PID that does not exist the kernel succeeds with no data
		// (psutil relies on the same), which x/sys reports as EIO since
		// the size read is not one kinfo_proc.
		return time.Time{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, processExitedError{unix.ESRCH})
	case err != nil:
		return time.Time{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, err)
	case kp.Proc.P_pid != pid:
		return time.Time{}, fmt.Errorf("sysctl kern.proc.pid %d: answered for pid %d", pid, kp.Proc.P_pid)
	case kp.Proc.P_stat == sZomb:
		return time.Time{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, processExitedError{errors.New("exited, not yet reaped (zombie)")})
	}
	return kinfoStarted(kp), nil
}

// exePath returns the full path of pid's executable, read from sysctl
// kern.procargs2 (see parseProcArgs2). The kernel answers EINVAL both for a
// PID that does not exist and for another user's process when the agent is
// not root; kill(pid, 0) tells the two apart.
func exePath(pid int32) (string, error) {
	if pid <= 0 { // the kernel has no executable; kill(0 or -1) means groups
		return "", fmt.Errorf("executable of pid %d: not a user process", pid)
	}
	b, err := unix.SysctlRaw("kern.procargs2", int(pid))
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			switch kerr := unix.Kill(int(pid), 0); {
			case errors.Is(kerr, unix.ESRCH):
				err = processExitedError{unix.ESRCH}
			case errors.Is(kerr, unix.EPERM):
				err = unix.EPERM // matches os.ErrPermission
			}
			// Otherwise the process exists and the kernel keeps no
			// arguments for it (a zombie, or a kernel process): keep EINVAL.
		}
		return "", fmt.Errorf("sysctl kern.procargs2 %d: %w", pid, err)
	}
	path, err := ParseProcArgs2(b)
	if err != nil {
		return "", fmt.Errorf("executable of pid %d: %w", pid, err)
	}
	return path, nil
}

// processExitedError is the OS's report that a process no longer exists;
// it matches os.ErrNotExist, which the errno itself (ESRCH) does not.
type processExitedError struct{ err error }

func (e processExitedError) Error() string        { return "process not found: " + e.err.Error() }
func (e processExitedError) Unwrap() error        { return e.err }
func (e processExitedError) Is(target error) bool { return target == os.ErrNotExist }
