package proctable

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The offsets kinfo.go decodes are x/sys's: a layout change fails the
// build here (a negative constant does not convert to uintptr).
var kp unix.KinfoProc

const (
	_ = uintptr(unsafe.Sizeof(kp) - kinfoSize)
	_ = uintptr(kinfoSize - unsafe.Sizeof(kp))
	_ = uintptr(unsafe.Offsetof(kp.Proc.P_stat) - kinfoStat)
	_ = uintptr(kinfoStat - unsafe.Offsetof(kp.Proc.P_stat))
	_ = uintptr(unsafe.Offsetof(kp.Proc.P_pid) - kinfoPID)
	_ = uintptr(kinfoPID - unsafe.Offsetof(kp.Proc.P_pid))
	_ = uintptr(unsafe.Offsetof(kp.Proc.P_comm) - kinfoComm)
	_ = uintptr(kinfoComm - unsafe.Offsetof(kp.Proc.P_comm))
	_ = uintptr(unsafe.Offsetof(kp.Eproc) + unsafe.Offsetof(kp.Eproc.Ppid) - kinfoPPID)
	_ = uintptr(kinfoPPID - unsafe.Offsetof(kp.Eproc) - unsafe.Offsetof(kp.Eproc.Ppid))
	_ = uintptr(unsafe.Offsetof(kp.Eproc) + unsafe.Offsetof(kp.Eproc.Pcred) + unsafe.Offsetof(kp.Eproc.Pcred.P_ruid) - kinfoRUID)
	_ = uintptr(kinfoRUID - unsafe.Offsetof(kp.Eproc) - unsafe.Offsetof(kp.Eproc.Pcred) - unsafe.Offsetof(kp.Eproc.Pcred.P_ruid))
	_ = uintptr(unsafe.Offsetof(kp.Eproc) + unsafe.Offsetof(kp.Eproc.Ucred) + unsafe.Offsetof(kp.Eproc.Ucred.Uid) - kinfoEUID)
	_ = uintptr(kinfoEUID - unsafe.Offsetof(kp.Eproc) - unsafe.Offsetof(kp.Eproc.Ucred) - unsafe.Offsetof(kp.Eproc.Ucred.Uid))
)

// osTable reads the process table with sysctl kern.proc.*. macOS has no
// pidfd: a handle checks the start time before each signal, which leaves
// a window of microseconds for the PID to be reused.
type osTable struct{}

func newOSTable(Config) *osTable { return &osTable{} }

func (*osTable) close() {}

func (*osTable) list() ([]Entry, error) {
	// The table may grow between the kernel's size answer and the read,
	// which fails with ENOMEM: read again.
	b, err := unix.SysctlRaw("kern.proc.all")
	for i := 0; errors.Is(err, unix.ENOMEM) && i < 4; i++ {
		b, err = unix.SysctlRaw("kern.proc.all")
	}
	if err != nil {
		return nil, fmt.Errorf("list processes: sysctl kern.proc.all: %w", err)
	}
	es, err := decodeKinfoList(b)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return es, nil
}

func (t *osTable) appendPIDs(dst []int32) ([]int32, error) {
	es, err := t.list()
	for _, e := range es {
		dst = append(dst, e.PID)
	}
	return dst, err
}

func (*osTable) withStarts(es []Entry) []Entry { return es }

// lookup reads pid with sysctl kern.proc.pid. For a PID that does not
// exist the kernel succeeds with no data (psutil relies on the same),
// which is reported as a process that has gone, as is a zombie.
func lookup(pid int32) (kinfo, error) {
	b, err := unix.SysctlRaw("kern.proc.pid", int(pid))
	switch {
	case errors.Is(err, unix.ESRCH), err == nil && len(b) == 0:
		return kinfo{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, exitedError{unix.ESRCH})
	case err != nil:
		return kinfo{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, err)
	}
	k, err := decodeKinfo(b)
	switch {
	case err != nil:
		return kinfo{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, err)
	case k.PID != pid:
		return kinfo{}, fmt.Errorf("sysctl kern.proc.pid %d: answered for pid %d", pid, k.PID)
	case k.Zombie:
		return kinfo{}, fmt.Errorf("sysctl kern.proc.pid %d: %w", pid, exitedError{errZombie})
	}
	return k, nil
}

func (*osTable) stat(pid int32) (Process, error) {
	k, err := lookup(pid)
	if err != nil {
		return Process{}, err
	}
	return Process{Entry: k.Entry, Started: DarwinStartTime(k.Start)}, nil
}

func (*osTable) startOf(pid int32) (ID, error) {
	k, err := lookup(pid)
	return k.ID, err
}

func (*osTable) parent(pid int32) (int32, error) {
	k, err := lookup(pid)
	return k.PPID, err
}

func (*osTable) appendComm(dst []byte, pid int32) ([]byte, error) {
	k, err := lookup(pid)
	return append(dst, k.Name...), err
}

func (*osTable) owner(pid int32) (Owner, error) {
	k, err := lookup(pid)
	return Owner{UID: int(k.RUID), EUID: int(k.EUID), Session: -1}, err
}

func (*osTable) time(start int64) (time.Time, error) { return DarwinStartTime(start), nil }

// exe reads sysctl kern.procargs2 (see ParseProcArgs2). The kernel
// answers EINVAL both for a PID that does not exist and for another
// user's process when the agent is not root; kill(pid, 0) tells the two
// apart.
func (*osTable) exe(pid int32) (string, error) {
	if pid <= 0 { // the kernel has no executable; kill(0 or -1) means groups
		return "", fmt.Errorf("executable of pid %d: not a user process", pid)
	}
	b, err := unix.SysctlRaw("kern.procargs2", int(pid))
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			switch kerr := unix.Kill(int(pid), 0); {
			case errors.Is(kerr, unix.ESRCH):
				err = exitedError{unix.ESRCH}
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

type osHandle struct{ t *osTable }

func (t *osTable) open(pid int32) (*Handle, error) {
	k, err := lookup(pid)
	if err != nil {
		return nil, err
	}
	return &Handle{id: k.ID, ppid: k.PPID, h: osHandle{t: t}}, nil
}

// Close releases the handle.
func (h *Handle) Close() {}

// Signal sends sig to the process after checking it is still the one
// opened. It fails with an error matching os.ErrNotExist when the process
// has exited.
func (h *Handle) Signal(sig syscall.Signal) error {
	if !h.Alive() {
		return exitedError{unix.ESRCH}
	}
	if err := unix.Kill(int(h.id.PID), sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return exitedError{err}
		}
		return err
	}
	return nil
}

// Alive reports whether the process still runs (a zombie does not).
func (h *Handle) Alive() bool {
	k, err := lookup(h.id.PID)
	return err == nil && k.Start == h.id.Start
}

// Exe returns the process's executable path (see Table.Exe).
func (h *Handle) Exe() (string, error) {
	exe, err := h.h.t.exe(h.id.PID)
	if err != nil && !h.Alive() {
		return "", fmt.Errorf("pid %d: %w", h.id.PID, exitedError{unix.ESRCH})
	}
	return exe, err
}

// wait checks every 10 ms.
func (*osTable) wait(hs []*Handle, d time.Duration) []*Handle {
	deadline := time.Now().Add(d)
	left := slices.Clone(hs)
	for {
		left = slices.DeleteFunc(left, func(h *Handle) bool { return !h.Alive() })
		remaining := time.Until(deadline)
		if len(left) == 0 || remaining <= 0 {
			return left
		}
		time.Sleep(min(remaining, 10*time.Millisecond))
	}
}
