package enforce

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// system reads /proc and signals processes through pidfds.
type system struct {
	self int32
	// noPidfd makes the system signal with kill(2), as on kernels without
	// pidfd_open; tests set it.
	noPidfd bool

	mu      sync.Mutex
	bootSec int64 // /proc/stat btime; 0 until read
}

func newSystem() *system {
	s := &system{self: int32(os.Getpid())}
	// Read the boot time now, when the agent starts and procwatch reads
	// its own (see linuxStartSlack); a failure is retried on use.
	s.bootTime()
	return s
}

func (s *system) bootTime() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bootSec != 0 {
		return s.bootSec, nil
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("boot time: %w", err)
	}
	if s.bootSec, err = parseBootTime(b); err != nil {
		return 0, err
	}
	return s.bootSec, nil
}

// handle is one process of the tree, checked to be the one listed.
type handle struct {
	e entry // Start in clock ticks since boot
	// fd is a pidfd on the process, or -1 where the kernel offers none
	// (before Linux 5.3, or a seccomp filter that refuses pidfd_open):
	// then each signal goes through kill(2) right after a fresh check of
	// the start time, which leaves a window of microseconds for the PID
	// to be reused.
	fd int
}

// openTarget checks that the process at t.Key.PID is t and opens it.
func (s *system) openTarget(t Target) (*handle, error) {
	pid := t.Key.PID
	if pid <= 1 || pid == s.self {
		return nil, fmt.Errorf("pid %d is the init process or the agent: %w", pid, ErrNotTarget)
	}
	boot, err := s.bootTime()
	if err != nil {
		return nil, err
	}
	h, st, err := s.openPID(pid)
	switch {
	case errors.Is(err, unix.ESRCH):
		return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
	case err != nil:
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	if started := linuxStarted(boot, st.StartTicks); !sameStart(t.Key.Started, started, linuxStartSlack) {
		h.close()
		return nil, fmt.Errorf("pid %d started at %s, but the process found started at %s (the PID was reused): %w",
			pid, started.UTC().Format(time.RFC3339Nano), time.UnixMilli(t.Key.Started).UTC().Format(time.RFC3339Nano), ErrNotTarget)
	}
	if t.Exe != "" {
		exe, err := os.Readlink("/proc/" + strconv.Itoa(int(pid)) + "/exe")
		if err != nil {
			alive := h.alive()
			h.close()
			if !alive {
				return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
			}
			return nil, fmt.Errorf("pid %d: read its executable: %w", pid, err)
		}
		if !sameExe(t.Exe, exe) {
			h.close()
			return nil, fmt.Errorf("pid %d runs %s, not %s: %w", pid, exe, t.Exe, ErrNotTarget)
		}
	}
	// What was read from /proc was about the pidfd's process only if that
	// process still runs now.
	if !h.alive() {
		h.close()
		return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
	}
	return h, nil
}

// open opens a listed process, checking that it is still the one listed.
// It fails with ESRCH when the process has exited.
func (s *system) open(e entry) (*handle, error) {
	h, st, err := s.openPID(e.PID)
	if err != nil {
		return nil, err
	}
	if st.StartTicks != e.Start || !h.alive() {
		h.close()
		return nil, unix.ESRCH
	}
	return h, nil
}

// openPID opens a pidfd on pid and reads its stat. It fails with ESRCH
// for a process that has exited, reaped or not.
func (s *system) openPID(pid int32) (*handle, procStat, error) {
	fd, err := -1, error(unix.ENOSYS)
	if !s.noPidfd {
		fd, err = unix.PidfdOpen(int(pid), 0)
	}
	switch {
	case err == nil:
	case errors.Is(err, unix.ESRCH):
		return nil, procStat{}, unix.ESRCH
	case errors.Is(err, unix.EINVAL):
		// pid is a thread, not a process.
		return nil, procStat{}, fmt.Errorf("pidfd_open: %w: %w", err, ErrNotTarget)
	default:
		fd = -1
	}
	st, err := readStat(pid)
	if err == nil && st.exited() {
		err = unix.ESRCH
	}
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, procStat{}, err
	}
	return &handle{e: entry{PID: pid, PPID: st.PPID, Start: st.StartTicks}, fd: fd}, st, nil
}

// readStat reads /proc/pid/stat; it fails with ESRCH when there is no
// such process.
func readStat(pid int32) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			return procStat{}, unix.ESRCH
		}
		return procStat{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return st, nil
}

func (h *handle) close() {
	if h.fd >= 0 {
		unix.Close(h.fd)
		h.fd = -1
	}
}

// signal sends sig to the process; it fails with ESRCH when the process
// has exited.
func (h *handle) signal(sig unix.Signal) error {
	if h.fd >= 0 {
		return unix.PidfdSendSignal(h.fd, sig, nil, 0)
	}
	if st, err := readStat(h.e.PID); err != nil || st.exited() || st.StartTicks != h.e.Start {
		return unix.ESRCH
	}
	return unix.Kill(int(h.e.PID), sig)
}

// alive reports whether the process has not exited (a zombie has).
func (h *handle) alive() bool {
	if h.fd >= 0 {
		// A pidfd becomes readable when its process exits.
		fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 0)
			if err == unix.EINTR {
				continue
			}
			return err == nil && n == 0
		}
	}
	st, err := readStat(h.e.PID)
	return err == nil && !st.exited() && st.StartTicks == h.e.Start
}

// list reads the PID, parent and start of every process.
func (s *system) list() ([]entry, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	out := make([]entry, 0, len(names))
	for _, name := range names {
		pid, err := strconv.ParseInt(name, 10, 32)
		if err != nil || pid <= 0 {
			continue // not a process: "self", "sys", ...
		}
		st, err := readStat(int32(pid))
		if err != nil || st.exited() {
			continue
		}
		out = append(out, entry{PID: int32(pid), PPID: st.PPID, Start: st.StartTicks})
	}
	return out, nil
}

// wait waits up to d for the processes to exit and returns those still
// running. It sleeps in poll(2) on the pidfds, which become readable when
// their process exits, and checks /proc every 10 ms for processes without
// one.
func (s *system) wait(hs []*handle, d time.Duration) []*handle {
	deadline := time.Now().Add(d)
	left := slices.Clone(hs)
	var fds []unix.PollFd
	for {
		left = slices.DeleteFunc(left, func(h *handle) bool { return !h.alive() })
		remaining := time.Until(deadline)
		if len(left) == 0 || remaining <= 0 {
			return left
		}
		fds = fds[:0]
		ms := remaining.Milliseconds() + 1
		for _, h := range left {
			if h.fd >= 0 {
				fds = append(fds, unix.PollFd{Fd: int32(h.fd), Events: unix.POLLIN})
			} else {
				ms = min(ms, 10)
			}
		}
		unix.Poll(fds, int(ms)) // EINTR or not, the loop checks again
	}
}
