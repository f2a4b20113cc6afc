package enforce

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// system lists processes with sysctl and signals them with kill(2).
// macOS has no pidfd: each signal follows a fresh check of the start
// time, which leaves a window of microseconds for the PID to be reused.
type system struct {
	self int32
}

func newSystem() *system { return &system{self: int32(os.Getpid())} }

// handle is one process of the tree, checked to be the one listed.
type handle struct {
	e entry // Start in microseconds since the epoch
}

// sZomb is SZOMB from <sys/proc.h>: the process has exited and waits for
// its parent to reap it.
const sZomb = 5

// kinfoStart is the start time as the kernel keeps it: a wall-clock
// timeval taken at fork, which procwatch turns into procwatch.Key.
func kinfoStart(kp *unix.KinfoProc) int64 {
	return kp.Proc.P_starttime.Sec*1_000_000 + int64(kp.Proc.P_starttime.Usec)
}

// lookup reads pid with sysctl kern.proc.pid; it fails with ESRCH when
// the process has exited, reaped or not.
func lookup(pid int32) (entry, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	switch {
	case errors.Is(err, unix.EIO), errors.Is(err, unix.ESRCH):
		// For a PID that does not exist the kernel succeeds with no data,
		// which x/sys reports as EIO.
		return entry{}, unix.ESRCH
	case err != nil:
		return entry{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, err)
	case kp.Proc.P_pid != pid, kp.Proc.P_stat == sZomb:
		return entry{}, unix.ESRCH
	}
	return entry{PID: pid, PPID: kp.Eproc.Ppid, Start: kinfoStart(kp)}, nil
}

// openTarget checks that the process at t.Key.PID is t.
func (s *system) openTarget(t Target) (*handle, error) {
	pid := t.Key.PID
	if pid <= 1 || pid == s.self {
		return nil, fmt.Errorf("pid %d is launchd or the agent: %w", pid, ErrNotTarget)
	}
	e, err := lookup(pid)
	switch {
	case errors.Is(err, unix.ESRCH):
		return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
	case err != nil:
		return nil, err
	}
	// The kernel keeps the start as a wall-clock time, so it matches the
	// key to the millisecond.
	if started := time.UnixMicro(e.Start); !sameStart(t.Key.Started, started, 0) {
		return nil, fmt.Errorf("pid %d started at %s, but the process found started at %s (the PID was reused): %w",
			pid, started.UTC().Format(time.RFC3339Nano), time.UnixMilli(t.Key.Started).UTC().Format(time.RFC3339Nano), ErrNotTarget)
	}
	h := &handle{e: e}
	if t.Exe != "" {
		b, err := unix.SysctlRaw("kern.procargs2", int(pid))
		if err != nil {
			if !h.alive() {
				return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
			}
			return nil, fmt.Errorf("pid %d: read its executable: sysctl kern.procargs2: %w", pid, err)
		}
		exe, err := parseProcArgs2(b)
		if err != nil {
			return nil, fmt.Errorf("pid %d: read its executable: %w", pid, err)
		}
		if !sameExe(t.Exe, exe) {
			return nil, fmt.Errorf("pid %d runs %s, not %s: %w", pid, exe, t.Exe, ErrNotTarget)
		}
	}
	return h, nil
}

// open checks that a listed process still runs; it fails with ESRCH when
// it has exited.
func (s *system) open(e entry) (*handle, error) {
	h := &handle{e: e}
	if !h.alive() {
		return nil, unix.ESRCH
	}
	return h, nil
}

func (h *handle) close() {}

// signal sends sig to the process; it fails with ESRCH when the process
// has exited.
func (h *handle) signal(sig unix.Signal) error {
	if !h.alive() {
		return unix.ESRCH
	}
	return unix.Kill(int(h.e.PID), sig)
}

// alive reports whether the process still runs (a zombie does not).
func (h *handle) alive() bool {
	e, err := lookup(h.e.PID)
	return err == nil && e.Start == h.e.Start
}

// list reads the PID, parent and start of every process with one sysctl.
func (s *system) list() ([]entry, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("sysctl kern.proc.all: %w", err)
	}
	out := make([]entry, 0, len(kps))
	for i := range kps {
		kp := &kps[i] // 648 bytes: do not copy
		if kp.Proc.P_pid <= 0 || kp.Proc.P_stat == sZomb {
			continue
		}
		out = append(out, entry{PID: kp.Proc.P_pid, PPID: kp.Eproc.Ppid, Start: kinfoStart(kp)})
	}
	return out, nil
}

// wait waits up to d for the processes to exit, checking every 10 ms, and
// returns those still running.
func (s *system) wait(hs []*handle, d time.Duration) []*handle {
	deadline := time.Now().Add(d)
	left := slices.Clone(hs)
	for {
		left = slices.DeleteFunc(left, func(h *handle) bool { return !h.alive() })
		remaining := time.Until(deadline)
		if len(left) == 0 || remaining <= 0 {
			return left
		}
		time.Sleep(min(remaining, 10*time.Millisecond))
	}
}
