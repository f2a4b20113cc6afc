package procwatch

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// osEntry is one process in a cheap OS listing.
type osEntry struct {
	PID, PPID int32
	// Started is when the process started; zero when the listing does not
	// carry it (Windows: see startTime).
	Started time.Time
	// Name is the short name the OS lists: on Windows PROCESSENTRY32's
	// szExeFile, the image's file name ("Zoom.exe").
	Name string
}

// listProcs lists every process with one Toolhelp snapshot, skipping the
// System Idle Process (PID 0). The snapshot carries no start times.
func listProcs() ([]osEntry, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("list processes: CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)

	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	out := make([]osEntry, 0, 256)
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if pe.ProcessID == 0 {
			continue
		}
		out = append(out, osEntry{
			PID:  int32(pe.ProcessID),
			PPID: int32(pe.ParentProcessID),
			Name: windows.UTF16ToString(pe.ExeFile[:]),
		})
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("list processes: Process32Next: %w", err)
	}
	return out, nil
}

// stillActive is STILL_ACTIVE, the exit code GetExitCodeProcess reports for
// a process that runs.
const stillActive = 259

// startTime returns when pid started: its creation time from
// GetProcessTimes.
func startTime(pid int32) (time.Time, error) {
	h, err := openProcess(pid)
	if err != nil {
		return time.Time{}, err
	}
	defer windows.CloseHandle(h)
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return time.Time{}, fmt.Errorf("GetProcessTimes pid %d: %w", pid, err)
	}
	return time.Unix(0, created.Nanoseconds()), nil
}

// exePath returns the full Win32 path of pid's executable
// (QueryFullProcessImageName).
func exePath(pid int32) (string, error) {
	h, err := openProcess(pid)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	// MAX_PATH covers nearly every image; long paths need up to 32767
	// characters. The call does not say how much it needs: grow and retry.
	for size := windows.MAX_PATH; ; size *= 4 {
		size = min(size, windows.MAX_LONG_PATH)
		buf := make([]uint16, size)
		n := uint32(len(buf))
		err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n)
		if err == nil {
			return windows.UTF16ToString(buf[:n]), nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || size == windows.MAX_LONG_PATH {
			return "", fmt.Errorf("QueryFullProcessImageName pid %d: %w", pid, err)
		}
	}
}

// openProcess opens pid for the queries any process allows to an
// administrator, protected processes included. OpenProcess answers
// ERROR_INVALID_PARAMETER for a PID no process has, and
// ERROR_ACCESS_DENIED (which matches os.ErrPermission) when the agent may
// not look. A process that has exited, but whose process object another
// handle keeps alive (and its PID with it), is reported as gone too.
func openProcess(pid int32) (windows.Handle, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
			err = processExitedError{err}
		}
		return 0, fmt.Errorf("OpenProcess pid %d: %w", pid, err)
	}
	// STILL_ACTIVE can also be a real exit code, so only the other codes
	// prove the process is gone.
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err == nil && code != stillActive {
		windows.CloseHandle(h)
		return 0, fmt.Errorf("pid %d: %w", pid, processExitedError{fmt.Errorf("exited with code %d", code)})
	}
	return h, nil
}

// processExitedError is the OS's report that a process no longer exists;
// it matches os.ErrNotExist, which the error code itself does not.
type processExitedError struct{ err error }

func (e processExitedError) Error() string        { return "process not found: " + e.err.Error() }
func (e processExitedError) Unwrap() error        { return e.err }
func (e processExitedError) Is(target error) bool { return target == os.ErrNotExist }
