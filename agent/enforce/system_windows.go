package enforce

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// system lists processes with a Toolhelp snapshot and ends them with
// TerminateProcess.
type system struct {
	self int32
}

func newSystem() *system { return &system{self: int32(os.Getpid())} }

// errGone reports a process that has exited.
var errGone = errors.New("process has exited")

// handle is one process of the tree, checked to be the one listed. While
// it is open, Windows does not give the process's PID to another one, even
// after the process exits.
type handle struct {
	e entry // Start as a FILETIME: 100 ns intervals since 1601
	h windows.Handle
	// ended is set once TerminateProcess was called.
	ended bool
}

const access = windows.PROCESS_TERMINATE | windows.PROCESS_QUERY_LIMITED_INFORMATION | windows.SYNCHRONIZE

// terminate closes t's process tree. Windows offers a service no signal
// an app can handle (WM_CLOSE would need the user's desktop), so members
// are ended with TerminateProcess:
//
//  1. Check that the process at t.Key.PID is t (creation time,
//     executable) and open it.
//  2. List the process table and open every descendant, checking its
//     creation time, before ending anything. The handles keep the PIDs of
//     the tree from being reused, so ParentProcessID, which Windows does
//     not update when a parent exits, stays true while members go.
//  3. End the root first, so that it cannot start more children, then the
//     others, parents before children.
//  4. List again for children started meanwhile, until none appears, and
//     wait up to killAfter for all to be gone.
func (s *system) terminate(t Target, killAfter time.Duration) ([]int32, error) {
	root, err := s.openTarget(t)
	if err != nil {
		return nil, err
	}
	tree := []*handle{root}
	defer func() {
		for _, h := range tree {
			windows.CloseHandle(h.h)
		}
	}()
	known := map[entry]bool{root.e: true}
	var errs []error
	for round := range 16 {
		all, err := s.list()
		if err != nil {
			errs = append(errs, fmt.Errorf("find the children of pid %d: %w", root.e.PID, err))
			if round > 0 {
				break
			}
			all = nil // end the root at least
		}
		added := 0
		for _, e := range descendants(root.e, all) {
			e.PPID = 0 // known by PID and creation time
			if known[e] {
				continue
			}
			known[e] = true
			if e.PID == s.self {
				if round == 0 {
					return nil, fmt.Errorf("pid %d is an ancestor of the agent (pid %d): %w", root.e.PID, s.self, ErrNotTarget)
				}
				continue
			}
			h, err := openPID(e.PID)
			if err != nil {
				continue // exited since the listing
			}
			if h.e.Start != e.Start {
				windows.CloseHandle(h.h)
				continue
			}
			tree = append(tree, h)
			added++
		}
		for _, h := range tree {
			if h.ended {
				continue
			}
			h.ended = true
			if err := windows.TerminateProcess(h.h, 1); err != nil && h.alive() {
				errs = append(errs, fmt.Errorf("terminate pid %d: %w", h.e.PID, err))
			}
		}
		if added == 0 && round > 0 {
			break
		}
	}
	var killed []int32
	left := s.wait(tree, killAfter)
	for _, h := range tree {
		if !slices.Contains(left, h) {
			killed = append(killed, h.e.PID)
		}
	}
	if len(left) > 0 {
		pids := make([]int32, len(left))
		for i, h := range left {
			pids[i] = h.e.PID
		}
		errs = append(errs, fmt.Errorf("pids %v still run %v after TerminateProcess", pids, killAfter))
	}
	return killed, errors.Join(errs...)
}

// openTarget checks that the process at t.Key.PID is t and opens it.
func (s *system) openTarget(t Target) (*handle, error) {
	pid := t.Key.PID
	if pid <= 4 || pid == s.self {
		return nil, fmt.Errorf("pid %d is the System process or the agent: %w", pid, ErrNotTarget)
	}
	h, err := openPID(pid)
	switch {
	case errors.Is(err, errGone):
		return nil, fmt.Errorf("pid %d: %w", pid, ErrExited)
	case err != nil:
		return nil, err
	}
	// The kernel keeps the creation time as a FILETIME, so it matches the
	// key to the millisecond.
	if started := filetimeTime(h.e.Start); !sameStart(t.Key.Started, started, 0) {
		windows.CloseHandle(h.h)
		return nil, fmt.Errorf("pid %d started at %s, but the process found started at %s (the PID was reused): %w",
			pid, started.UTC().Format(time.RFC3339Nano), time.UnixMilli(t.Key.Started).UTC().Format(time.RFC3339Nano), ErrNotTarget)
	}
	if t.Exe != "" {
		exe, err := imagePath(h.h)
		if err != nil {
			windows.CloseHandle(h.h)
			return nil, fmt.Errorf("pid %d: read its executable: %w", pid, err)
		}
		if !strings.EqualFold(t.Exe, exe) {
			windows.CloseHandle(h.h)
			return nil, fmt.Errorf("pid %d runs %s, not %s: %w", pid, exe, t.Exe, ErrNotTarget)
		}
	}
	return h, nil
}

// openPID opens pid with the rights to end it and reads its creation
// time. It fails with errGone for a process that has exited.
func openPID(pid int32) (*handle, error) {
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
			return nil, errGone // no process has this PID
		}
		return nil, fmt.Errorf("OpenProcess pid %d: %w", pid, err)
	}
	hd := &handle{e: entry{PID: pid}, h: h}
	if !hd.alive() {
		windows.CloseHandle(h)
		return nil, errGone
	}
	start, err := creationTime(h)
	if err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	hd.e.Start = start
	return hd, nil
}

// alive reports whether the process has not exited: a process handle is
// signalled when the process ends.
func (h *handle) alive() bool {
	ev, err := windows.WaitForSingleObject(h.h, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

func creationTime(h windows.Handle) (int64, error) {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return 0, fmt.Errorf("GetProcessTimes: %w", err)
	}
	return int64(created.HighDateTime)<<32 | int64(created.LowDateTime), nil
}

// filetimeTime converts a FILETIME value to a time, as procwatch does.
func filetimeTime(ft int64) time.Time {
	f := windows.Filetime{HighDateTime: uint32(ft >> 32), LowDateTime: uint32(ft)}
	return time.Unix(0, f.Nanoseconds())
}

// imagePath returns the full Win32 path of the process's executable.
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

// list reads the PID, parent and creation time of every process the agent
// may open. The snapshot carries no creation times, so each process is
// opened for its own.
func (s *system) list() ([]entry, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	var out []entry
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if pe.ProcessID == 0 {
			continue
		}
		h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pe.ProcessID)
		if err != nil {
			continue // exited, or protected
		}
		start, err := creationTime(h)
		windows.CloseHandle(h)
		if err != nil {
			continue
		}
		out = append(out, entry{PID: int32(pe.ProcessID), PPID: int32(pe.ParentProcessID), Start: start})
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("Process32Next: %w", err)
	}
	return out, nil
}

// wait waits up to d for the processes to end and returns those still
// running.
func (s *system) wait(hs []*handle, d time.Duration) []*handle {
	deadline := time.Now().Add(d)
	var left []*handle
	for _, h := range hs {
		ms := max(time.Until(deadline).Milliseconds(), 0)
		if ev, err := windows.WaitForSingleObject(h.h, uint32(ms)); err != nil || ev != windows.WAIT_OBJECT_0 {
			left = append(left, h)
		}
	}
	return left
}
