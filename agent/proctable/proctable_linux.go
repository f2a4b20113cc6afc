package proctable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// osTable reads procfs. The directory is listed with getdents into a
// reused buffer and each file is read with openat relative to it, so that
// a scan costs about one open, read and close per process and file.
type osTable struct {
	root    string
	noPidfd bool

	mu      sync.Mutex
	dir     *os.File // the procfs root, reopened when it fails
	dirbuf  []byte
	filbuf  []byte
	pathb   []byte
	bootSec int64 // btime of root/stat; 0 until read
}

func newOSTable(cfg Config) *osTable {
	return &osTable{root: cfg.ProcRoot, noPidfd: cfg.NoPidfd, dirbuf: make([]byte, 32<<10), filbuf: make([]byte, 1024)}
}

func (t *osTable) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeDir()
}

func (t *osTable) closeDir() {
	if t.dir != nil {
		t.dir.Close()
		t.dir = nil
	}
}

// openDir opens the procfs root; t.mu is held.
func (t *osTable) openDir() error {
	if t.dir != nil {
		return nil
	}
	d, err := os.Open(t.root)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	t.dir = d
	return nil
}

func (t *osTable) appendPIDs(dst []int32) ([]int32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.openDir(); err != nil {
		return dst, err
	}
	fd := int(t.dir.Fd())
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		t.closeDir()
		return dst, fmt.Errorf("list processes: rewind %s: %w", t.root, err)
	}
	for {
		n, err := unix.Getdents(fd, t.dirbuf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.closeDir()
			return dst, fmt.Errorf("list processes: read %s: %w", t.root, err)
		}
		if n <= 0 {
			return dst, nil
		}
		dst = AppendDirentPIDs(dst, t.dirbuf[:n])
	}
}

// setPath sets t.pathb to "PID/name" and a NUL; t.mu is held.
func (t *osTable) setPath(pid int32, name string) {
	t.pathb = strconv.AppendInt(t.pathb[:0], int64(pid), 10)
	t.pathb = append(t.pathb, '/')
	t.pathb = append(t.pathb, name...)
	t.pathb = append(t.pathb, 0)
}

// openat opens the NUL-terminated path relative to dirfd. It is
// unix.Openat without its conversion of the path to a new NUL-terminated
// slice: that was the one allocation per process of a scan, which reads
// every process's comm.
func openat(dirfd int, path []byte, flags int) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])), uintptr(flags), 0, 0, 0)
		runtime.KeepAlive(path)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

// readFile reads root/PID/name into t.filbuf; t.mu is held. A process
// that has gone fails with an error matching os.ErrNotExist.
func (t *osTable) readFile(pid int32, name string) ([]byte, error) {
	if err := t.openDir(); err != nil {
		return nil, err
	}
	t.setPath(pid, name)
	fd, err := openat(int(t.dir.Fd()), t.pathb, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, gone(err)
	}
	defer unix.Close(fd)
	n := 0
	for {
		m, err := unix.Read(fd, t.filbuf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, gone(err)
		}
		n += m
		// The files read here (comm, stat, status) are seq_files: a
		// read returns as much of the file as fits, so one that leaves
		// room has reached the end. Not reading again for the 0 that
		// says so saves one system call in four per process of a scan.
		if m == 0 || n < len(t.filbuf) {
			return t.filbuf[:n], nil
		}
		if n == len(t.filbuf) {
			t.filbuf = append(t.filbuf, make([]byte, len(t.filbuf))...)
		}
	}
}

// gone makes ESRCH (a process that exited while its files were read)
// match os.ErrNotExist, as ENOENT already does.
func gone(err error) error {
	if errors.Is(err, unix.ESRCH) {
		return exitedError{err}
	}
	return err
}

func (t *osTable) appendComm(dst []byte, pid int32) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, err := t.readFile(pid, "comm")
	if err != nil {
		return dst, err
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return append(dst, b...), nil
}

// readStat reads and decodes root/PID/stat; t.mu is held. A zombie fails
// as a process that has gone.
func (t *osTable) readStat(pid int32) (Stat, error) {
	b, err := t.readFile(pid, "stat")
	if err != nil {
		return Stat{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	st, err := ParseStat(b)
	if err != nil {
		return Stat{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	if st.Exited() {
		return Stat{}, fmt.Errorf("pid %d: %w", pid, exitedError{errZombie})
	}
	return st, nil
}

// bootTime reads btime from root/stat once; t.mu is held.
func (t *osTable) bootTime() (int64, error) {
	if t.bootSec != 0 {
		return t.bootSec, nil
	}
	b, err := os.ReadFile(filepath.Join(t.root, "stat"))
	if err != nil {
		return 0, fmt.Errorf("boot time: %w", err)
	}
	if t.bootSec, err = ParseBootTime(b); err != nil {
		return 0, err
	}
	return t.bootSec, nil
}

func (t *osTable) stat(pid int32) (Process, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.readStat(pid)
	if err != nil {
		return Process{}, err
	}
	boot, err := t.bootTime()
	if err != nil {
		return Process{}, err
	}
	return Process{
		Entry:   Entry{ID: ID{PID: pid, Start: int64(st.StartTicks)}, PPID: st.PPID, Name: st.Comm},
		Started: LinuxStartTime(boot, st.StartTicks),
	}, nil
}

func (t *osTable) startOf(pid int32) (ID, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.readStat(pid)
	if err != nil {
		return ID{}, err
	}
	return ID{PID: pid, Start: int64(st.StartTicks)}, nil
}

func (t *osTable) parent(pid int32) (int32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.readStat(pid)
	return st.PPID, err
}

func (t *osTable) exe(pid int32) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.openDir(); err != nil {
		return "", err
	}
	buf := make([]byte, 256)
	t.setPath(pid, "exe")
	for {
		n, err := unix.Readlinkat(int(t.dir.Fd()), string(t.pathb[:len(t.pathb)-1]), buf)
		if err != nil {
			return "", fmt.Errorf("executable of pid %d: %w", pid, gone(err))
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

func (t *osTable) owner(pid int32) (Owner, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, err := t.readFile(pid, "status")
	if err != nil {
		return Owner{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	uid, euid, ok := ParseStatusUIDs(b)
	if !ok {
		return Owner{}, fmt.Errorf("pid %d: status has no Uid line", pid)
	}
	return Owner{UID: uid, EUID: euid, Session: -1}, nil
}

func (t *osTable) time(start int64) (time.Time, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	boot, err := t.bootTime()
	if err != nil {
		return time.Time{}, err
	}
	return LinuxStartTime(boot, uint64(start)), nil
}

func (t *osTable) now() time.Time {
	if t.root != "/proc" {
		return time.Now() // a recorded or fake procfs: no clock of its own
	}
	t.mu.Lock()
	boot, err := t.bootTime()
	t.mu.Unlock()
	var ts unix.Timespec
	if err != nil || unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return time.Now()
	}
	return time.Unix(boot, 0).Add(time.Duration(ts.Nano()))
}

func (t *osTable) list() ([]Entry, error) {
	pids, err := t.appendPIDs(nil)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Entry, 0, len(pids))
	for _, pid := range pids {
		st, err := t.readStat(pid)
		if err != nil {
			continue // exited since the listing, or a zombie
		}
		out = append(out, Entry{ID: ID{PID: pid, Start: int64(st.StartTicks)}, PPID: st.PPID, Name: st.Comm})
	}
	return out, nil
}

func (t *osTable) withStarts(es []Entry) []Entry { return es }

// osHandle is a pidfd on the process, or -1 where the kernel offers none
// (before Linux 5.3, or a seccomp filter that refuses pidfd_open): then
// each signal goes through kill(2) right after a fresh check of the start
// time, which leaves a window of microseconds for the PID to be reused.
type osHandle struct {
	t  *osTable
	fd int
}

func (t *osTable) open(pid int32) (*Handle, error) {
	fd, err := -1, error(unix.ENOSYS)
	if !t.noPidfd {
		fd, err = unix.PidfdOpen(int(pid), 0)
	}
	switch {
	case err == nil:
	case errors.Is(err, unix.ESRCH):
		return nil, fmt.Errorf("pid %d: %w", pid, exitedError{err})
	case errors.Is(err, unix.EINVAL):
		return nil, fmt.Errorf("pidfd_open %d: %w: %w", pid, err, ErrNotProcess)
	default:
		fd = -1
	}
	t.mu.Lock()
	st, err := t.readStat(pid)
	t.mu.Unlock()
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, err
	}
	return &Handle{id: ID{PID: pid, Start: int64(st.StartTicks)}, ppid: st.PPID, h: osHandle{t: t, fd: fd}}, nil
}

// Close releases the handle.
func (h *Handle) Close() {
	if h.h.fd >= 0 {
		unix.Close(h.h.fd)
		h.h.fd = -1
	}
}

// Signal sends sig to the process. It fails with an error matching
// os.ErrNotExist when the process has exited.
func (h *Handle) Signal(sig syscall.Signal) error {
	var err error
	if h.h.fd >= 0 {
		err = unix.PidfdSendSignal(h.h.fd, sig, nil, 0)
	} else if !h.sameProcess() {
		err = unix.ESRCH
	} else {
		err = unix.Kill(int(h.id.PID), sig)
	}
	if errors.Is(err, unix.ESRCH) {
		return exitedError{err}
	}
	return err
}

// sameProcess reads the stat of the handle's PID and reports whether it
// is still the handle's process, not exited.
func (h *Handle) sameProcess() bool {
	h.h.t.mu.Lock()
	st, err := h.h.t.readStat(h.id.PID)
	h.h.t.mu.Unlock()
	return err == nil && int64(st.StartTicks) == h.id.Start
}

// Alive reports whether the process has not exited (a zombie has).
func (h *Handle) Alive() bool {
	if h.h.fd >= 0 {
		// A pidfd becomes readable when its process exits.
		fds := []unix.PollFd{{Fd: int32(h.h.fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 0)
			if err == unix.EINTR {
				continue
			}
			return err == nil && n == 0
		}
	}
	return h.sameProcess()
}

// Exe returns the process's executable path (see Table.Exe), checking
// afterwards that the process still runs, so the path read is its own.
func (h *Handle) Exe() (string, error) {
	exe, err := h.h.t.exe(h.id.PID)
	if !h.Alive() {
		return "", fmt.Errorf("pid %d: %w", h.id.PID, exitedError{unix.ESRCH})
	}
	return exe, err
}

// wait sleeps in poll(2) on the pidfds, which become readable when their
// process exits, and checks procfs every 10 ms for processes without one.
func (t *osTable) wait(hs []*Handle, d time.Duration) []*Handle {
	deadline := time.Now().Add(d)
	left := slices.Clone(hs)
	var fds []unix.PollFd
	for {
		left = slices.DeleteFunc(left, func(h *Handle) bool { return !h.Alive() })
		remaining := time.Until(deadline)
		if len(left) == 0 || remaining <= 0 {
			return left
		}
		fds = fds[:0]
		ms := remaining.Milliseconds() + 1
		for _, h := range left {
			if h.h.fd >= 0 {
				fds = append(fds, unix.PollFd{Fd: int32(h.h.fd), Events: unix.POLLIN})
			} else {
				ms = min(ms, 10)
			}
		}
		unix.Poll(fds, int(ms)) // EINTR or not, the loop checks again
	}
}
