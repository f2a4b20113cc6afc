package proctable

import (
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The offsets toolhelp.go decodes are x/sys's: a layout change fails the
// build here (a negative constant does not convert to uintptr).
var pe windows.ProcessEntry32

const (
	_ = uintptr(unsafe.Sizeof(pe) - pe32Size)
	_ = uintptr(pe32Size - unsafe.Sizeof(pe))
	_ = uintptr(unsafe.Offsetof(pe.ProcessID) - pe32PID)
	_ = uintptr(pe32PID - unsafe.Offsetof(pe.ProcessID))
	_ = uintptr(unsafe.Offsetof(pe.ParentProcessID) - pe32PPID)
	_ = uintptr(pe32PPID - unsafe.Offsetof(pe.ParentProcessID))
	_ = uintptr(unsafe.Offsetof(pe.ExeFile) - pe32ExeFile)
	_ = uintptr(pe32ExeFile - unsafe.Offsetof(pe.ExeFile))
	_ = uintptr(unsafe.Sizeof(pe.ExeFile) - pe32ExeBytes)
	_ = uintptr(pe32ExeBytes - unsafe.Sizeof(pe.ExeFile))
)

// osTable lists processes with a Toolhelp snapshot, which carries no start
// times, and opens processes for the rest. A handle is a process handle:
// while it is open, Windows does not give the process's PID to another
// one, even after the process exits.
type osTable struct{}

func newOSTable(Config) *osTable { return &osTable{} }

func (*osTable) close() {}

func (*osTable) list() ([]Entry, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("list processes: CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&pe)), unsafe.Sizeof(pe))
	out := make([]Entry, 0, 256)
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		e, ok, derr := decodeProcessEntry32(raw)
		if derr != nil {
			return nil, fmt.Errorf("list processes: %w", derr)
		}
		if ok {
			out = append(out, e)
		}
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("list processes: Process32Next: %w", err)
	}
	return out, nil
}

func (t *osTable) appendPIDs(dst []int32) ([]int32, error) {
	es, err := t.list()
	for _, e := range es {
		dst = append(dst, e.PID)
	}
	return dst, err
}

// withStarts opens every listed process for its creation time.
func (*osTable) withStarts(es []Entry) []Entry {
	out := es[:0]
	for _, e := range es {
		h, err := openQuery(e.PID)
		if err != nil {
			continue // exited, or protected
		}
		start, err := creationTime(h)
		windows.CloseHandle(h)
		if err != nil {
			continue
		}
		e.Start = start
		out = append(out, e)
	}
	return out
}

// stillActive is STILL_ACTIVE, the exit code GetExitCodeProcess reports for
// a process that runs.
const stillActive = 259

// openQuery opens pid for the queries any process allows to an
// administrator, protected processes included.
func openQuery(pid int32) (windows.Handle, error) {
	return openProcess(pid, windows.PROCESS_QUERY_LIMITED_INFORMATION)
}

// openProcess opens pid. OpenProcess answers ERROR_INVALID_PARAMETER for a
// PID no process has, and ERROR_ACCESS_DENIED (which matches
// os.ErrPermission) when the agent may not look. A process that has
// exited, but whose process object another handle keeps alive (and its PID
// with it), is reported as gone too.
func openProcess(pid int32, access uint32) (windows.Handle, error) {
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
			err = exitedError{err}
		}
		return 0, fmt.Errorf("OpenProcess pid %d: %w", pid, err)
	}
	// STILL_ACTIVE can also be a real exit code, so only the other codes
	// prove the process is gone.
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err == nil && code != stillActive {
		windows.CloseHandle(h)
		return 0, fmt.Errorf("pid %d: %w", pid, exitedError{fmt.Errorf("exited with code %d", code)})
	}
	return h, nil
}

func creationTime(h windows.Handle) (int64, error) {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return 0, fmt.Errorf("GetProcessTimes: %w", err)
	}
	return int64(created.HighDateTime)<<32 | int64(created.LowDateTime), nil
}

func (*osTable) startOf(pid int32) (ID, error) {
	h, err := openQuery(pid)
	if err != nil {
		return ID{}, err
	}
	defer windows.CloseHandle(h)
	start, err := creationTime(h)
	if err != nil {
		return ID{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return ID{PID: pid, Start: start}, nil
}

// find looks pid up in a snapshot, for its parent and name.
func (t *osTable) find(pid int32) (Entry, error) {
	es, err := t.list()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range es {
		if e.PID == pid {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("pid %d: %w", pid, exitedError{windows.ERROR_INVALID_PARAMETER})
}

// stat takes a snapshot for the parent and name, and opens the process
// for its creation time.
func (t *osTable) stat(pid int32) (Process, error) {
	e, err := t.find(pid)
	if err != nil {
		return Process{}, err
	}
	id, err := t.startOf(pid)
	if err != nil {
		return Process{}, err
	}
	e.ID = id
	return Process{Entry: e, Started: FiletimeTime(id.Start)}, nil
}

func (t *osTable) parent(pid int32) (int32, error) {
	e, err := t.find(pid)
	return e.PPID, err
}

func (t *osTable) appendComm(dst []byte, pid int32) ([]byte, error) {
	e, err := t.find(pid)
	return append(dst, e.Name...), err
}

func (*osTable) time(start int64) (time.Time, error) { return FiletimeTime(start), nil }

func (*osTable) exe(pid int32) (string, error) {
	h, err := openQuery(pid)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	exe, err := imagePath(h)
	if err != nil {
		return "", fmt.Errorf("pid %d: %w", pid, err)
	}
	return exe, nil
}

// imagePath returns the full Win32 path of the process's executable
// (QueryFullProcessImageName). MAX_PATH covers nearly every image; long
// paths need up to 32767 characters, and the call does not say how much
// it needs: grow and retry.
func imagePath(h windows.Handle) (string, error) {
	for size := windows.MAX_PATH; ; size *= 4 {
		size = min(size, windows.MAX_LONG_PATH)
		buf := make([]uint16, size)
		n := uint32(len(buf))
		err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n)
		if err == nil {
			return windows.UTF16ToString(buf[:n]), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || size == windows.MAX_LONG_PATH {
			return "", fmt.Errorf("QueryFullProcessImageName: %w", err)
		}
	}
}

// owner reads the process's session and the user SID of its token.
func (*osTable) owner(pid int32) (Owner, error) {
	o := Owner{UID: -1, EUID: -1, Session: -1}
	// The session stays -1 when it cannot be read; the SID may still be.
	var session uint32
	if windows.ProcessIdToSessionId(uint32(pid), &session) == nil {
		o.Session = int(session)
	}
	h, err := openQuery(pid)
	if err != nil {
		return o, err
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return o, fmt.Errorf("pid %d: OpenProcessToken: %w", pid, err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return o, fmt.Errorf("pid %d: GetTokenUser: %w", pid, err)
	}
	o.SID = tu.User.Sid.String()
	return o, nil
}

// osHandle is a process handle with the rights to end the process.
type osHandle struct{ h windows.Handle }

const handleAccess = windows.PROCESS_TERMINATE | windows.PROCESS_QUERY_LIMITED_INFORMATION | windows.SYNCHRONIZE

func (*osTable) open(pid int32) (*Handle, error) {
	h, err := openProcess(pid, handleAccess)
	if err != nil {
		return nil, err
	}
	start, err := creationTime(h)
	if err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	return &Handle{id: ID{PID: pid, Start: start}, h: osHandle{h: h}}, nil
}

// Close releases the handle.
func (h *Handle) Close() {
	if h.h.h != 0 {
		windows.CloseHandle(h.h.h)
		h.h.h = 0
	}
}

// Signal ends the process with TerminateProcess (exit code 1) for SIGKILL
// and SIGTERM: Windows offers a service no signal an app can handle. It
// fails with an error matching os.ErrNotExist when the process has
// exited, and with errors.ErrUnsupported for other signals.
func (h *Handle) Signal(sig syscall.Signal) error {
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return fmt.Errorf("signal %v on Windows: %w", sig, errors.ErrUnsupported)
	}
	// TerminateProcess succeeds on a process that has already exited
	// (its handle keeps the object): tell that case apart first.
	if !h.Alive() {
		return exitedError{errString("exited")}
	}
	if err := windows.TerminateProcess(h.h.h, 1); err != nil {
		if !h.Alive() {
			return exitedError{err}
		}
		return fmt.Errorf("TerminateProcess pid %d: %w", h.id.PID, err)
	}
	return nil
}

// Alive reports whether the process has not exited: a process handle is
// signalled when the process ends.
func (h *Handle) Alive() bool {
	ev, err := windows.WaitForSingleObject(h.h.h, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

// Exe returns the process's executable path.
func (h *Handle) Exe() (string, error) {
	exe, err := imagePath(h.h.h)
	if err != nil {
		return "", fmt.Errorf("pid %d: %w", h.id.PID, err)
	}
	return exe, nil
}

// wait waits on the process handles.
func (*osTable) wait(hs []*Handle, d time.Duration) []*Handle {
	deadline := time.Now().Add(d)
	var left []*Handle
	for _, h := range hs {
		ms := max(time.Until(deadline).Milliseconds(), 0)
		if ev, err := windows.WaitForSingleObject(h.h.h, uint32(ms)); err != nil || ev != windows.WAIT_OBJECT_0 {
			left = append(left, h)
		}
	}
	return left
}
