// Package proctable is the agent's one view of the process table: list
// every process, stat one (parent, start time, short name, executable,
// owner), and open one by identity (PID and start time) to signal or end
// it, so that a PID the OS gave to another process since is never hit.
//
// The Table is the exported type; each OS has an unexported
// implementation (proctable_linux.go reads procfs with getdents and
// openat, proctable_darwin.go sysctl kern.proc, proctable_windows.go a
// Toolhelp snapshot and process handles) and proctable_other.go reports
// errors.ErrUnsupported. What the OSes answer is decoded by parsers
// without a build tag (procfs.go, kinfo.go, toolhelp.go), so every OS's
// decoding is tested on every OS.
package proctable

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// ID identifies a process: PIDs are reused, a PID and the start time the
// OS keeps for it are not.
type ID struct {
	PID int32
	// Start is the start time in the OS's own unit, exactly as the OS
	// keeps it: Linux clock ticks (USER_HZ) since boot, macOS
	// microseconds since the epoch, Windows 100 ns intervals since 1601
	// (a FILETIME). IDs compare only with IDs from the same machine.
	Start int64
}

// Entry is one process in a listing of the table.
type Entry struct {
	ID
	PPID int32
	// Name is the short name the OS lists: Linux comm (15 bytes), macOS
	// p_comm (16 bytes), Windows the image file name ("Zoom.exe").
	Name string
}

// Process is what Table.Stat tells about one process.
type Process struct {
	Entry
	// Started is the start time on the wall clock.
	Started time.Time
}

// Owner is who a process runs as.
type Owner struct {
	// UID is the real user ID on Linux and macOS; -1 on Windows.
	UID int
	// EUID is the effective user ID on Linux and macOS (whose rights the
	// process has); -1 on Windows.
	EUID int
	// SID is the user SID of the process's token on Windows; "" elsewhere.
	SID string
	// Session is the terminal-services session on Windows (the desktop
	// the process belongs to); -1 elsewhere.
	Session int
}

// Config is what a Table reads from. The zero value reads the live system.
type Config struct {
	// ProcRoot is the procfs mount on Linux; "" means /proc. Tests and
	// benchmarks point it at a synthetic process table.
	ProcRoot string
	// NoPidfd makes Linux handles signal with kill(2) after a fresh check
	// of the start time, as on kernels without pidfd_open; tests set it.
	NoPidfd bool
}

// Table reads the process table. It is safe for concurrent use.
type Table struct {
	os *osTable
}

// New returns a table; it opens nothing until it is first used.
func New(cfg Config) *Table {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	return &Table{os: newOSTable(cfg)}
}

// Close releases what the table keeps open.
func (t *Table) Close() { t.os.close() }

// AppendPIDs appends the PID of every process to dst, the cheapest
// listing there is (on Linux one getdents of procfs, read into a reused
// buffer).
func (t *Table) AppendPIDs(dst []int32) ([]int32, error) { return t.os.appendPIDs(dst) }

// AppendComm appends pid's short name (see Entry.Name) to dst. On Linux it
// reads only /proc/PID/comm, without allocating.
func (t *Table) AppendComm(dst []byte, pid int32) ([]byte, error) { return t.os.appendComm(dst, pid) }

// List lists every process (not zombies, not the kernel's PID 0). On
// Windows the snapshot carries no start times: Start is 0 there until
// WithStarts fills it.
func (t *Table) List() ([]Entry, error) { return t.os.list() }

// WithStarts fills the start times a listing lacks (Windows, by opening
// each process) and drops the processes it cannot read; elsewhere it
// returns es unchanged.
func (t *Table) WithStarts(es []Entry) []Entry { return t.os.withStarts(es) }

// Stat reads one process. It fails with an error matching
// os.ErrNotExist for a process that has exited, reaped or not.
func (t *Table) Stat(pid int32) (Process, error) { return t.os.stat(pid) }

// StartOf reads the identity of the process that holds pid now, the
// cheapest check that a known process still runs.
func (t *Table) StartOf(pid int32) (ID, error) { return t.os.startOf(pid) }

// Exe returns the full path of pid's executable. On Linux it may end in
// " (deleted)" (see SameExe); on macOS it is the path given to execve.
// It fails with os.ErrNotExist for a process that has gone, and with
// os.ErrPermission for another user's process the agent may not read.
func (t *Table) Exe(pid int32) (string, error) { return t.os.exe(pid) }

// Owner returns who pid runs as.
func (t *Table) Owner(pid int32) (Owner, error) { return t.os.owner(pid) }

// Time converts a start time in the OS's unit (ID.Start) to the wall
// clock.
func (t *Table) Time(start int64) (time.Time, error) { return t.os.time(start) }

// Now returns the current time on the clock process start times are read
// in. On Linux that is the boot time /proc/stat gives (whole seconds, fixed
// at boot) plus the time since boot: it differs from the wall clock by
// btime's rounding and by every step the wall clock took since boot
// (seconds, on a machine whose clock NTP corrected), so a process's age
// is Now minus its start, not time.Now minus it. Elsewhere it is the wall
// clock.
func (t *Table) Now() time.Time { return t.os.now() }

// Parent returns the PID of pid's parent.
func (t *Table) Parent(pid int32) (int32, error) { return t.os.parent(pid) }

// Open opens the process id names, checking that the process holding the
// PID started at id.Start. It fails with an error matching
// os.ErrNotExist when that process has exited or the PID was reused.
func (t *Table) Open(id ID) (*Handle, error) {
	h, err := t.OpenPID(id.PID)
	if err != nil {
		return nil, err
	}
	if h.id.Start != id.Start {
		h.Close()
		return nil, exitedError{errPIDReused}
	}
	return h, nil
}

// OpenPID opens whatever process holds pid now; Handle.ID tells which.
// It fails with an error matching os.ErrNotExist for a process that has
// exited.
func (t *Table) OpenPID(pid int32) (*Handle, error) { return t.os.open(pid) }

// Wait waits up to d for the processes to exit and returns those still
// running.
func (t *Table) Wait(hs []*Handle, d time.Duration) []*Handle { return t.os.wait(hs, d) }

// Handle is an open process, known by its identity: the OS's handle
// (a pidfd on Linux, a process handle on Windows) where it has one, and
// otherwise a check of the start time before every signal.
type Handle struct {
	id   ID
	ppid int32
	h    osHandle
}

// ID is the identity of the process the handle holds.
func (h *Handle) ID() ID { return h.id }

// PPID is the parent PID read when the handle was opened.
func (h *Handle) PPID() int32 { return h.ppid }

// BaseName returns the last element of an executable path in either OS's
// separators ("C:\Program Files\Zoom\bin\Zoom.exe" → "Zoom.exe"), without
// the " (deleted)" Linux adds once the file was replaced.
func BaseName(exe string) string {
	exe = strings.TrimSuffix(exe, deletedSuffix)
	if i := strings.LastIndexAny(exe, `/\`); i >= 0 {
		return exe[i+1:]
	}
	return exe
}

// deletedSuffix is what Linux appends to /proc/PID/exe once the file was
// replaced or removed.
const deletedSuffix = " (deleted)"

// SameExe reports whether two executable paths are the same, ignoring the
// " (deleted)" Linux adds once the file was replaced (an app updated in
// place while it runs is still that app).
func SameExe(a, b string) bool {
	return strings.TrimSuffix(a, deletedSuffix) == strings.TrimSuffix(b, deletedSuffix)
}

// ProcPath is the path of a file about pid in a Linux procfs mounted at
// /proc ("/proc/PID/rel").
func ProcPath(pid int32, rel string) string {
	return "/proc/" + strconv.Itoa(int(pid)) + "/" + rel
}

// exitedError is the OS's report that a process no longer exists; it
// matches os.ErrNotExist, which the errno itself (ESRCH,
// ERROR_INVALID_PARAMETER) does not.
type exitedError struct{ err error }

func (e exitedError) Error() string        { return "process not found: " + e.err.Error() }
func (e exitedError) Unwrap() error        { return e.err }
func (e exitedError) Is(target error) bool { return target == os.ErrNotExist }

type errString string

func (e errString) Error() string { return string(e) }

// ErrNotProcess is reported when a PID names a thread, not a process.
var ErrNotProcess = errors.New("the PID names a thread, not a process")

const (
	errPIDReused errString = "the PID now belongs to a process started later"
	errZombie    errString = "exited, not yet reaped (zombie)"
)
