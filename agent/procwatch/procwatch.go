// Package procwatch lists the processes running on the machine. This first
// version scans the whole process table with gopsutil; the detection engine
// replaces it with the netlink proc connector on Linux and incremental
// polling elsewhere.
package procwatch

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// Process is one running process.
type Process struct {
	PID int32
	// Started is the process start time; with PID it identifies the
	// process, since PIDs are reused.
	Started time.Time
	// Name is the process name (on Linux the full executable base name,
	// not the 15-character comm).
	Name string
	// Exe is the executable path, or "" when the OS does not tell (another
	// user's process seen by an unprivileged agent).
	Exe string
}

// Key identifies a process across scans.
type Key struct {
	PID     int32
	Started int64 // Unix milliseconds
}

// Key returns the process's identity.
func (p Process) Key() Key { return Key{PID: p.PID, Started: p.Started.UnixMilli()} }

// Filter tells the scanner which processes are of interest by name, so the
// executable path is read only for those.
type Filter func(name string) bool

// Scan lists the processes whose name passes filter (all when filter is
// nil). Processes that exit during the scan are skipped.
func Scan(ctx context.Context, filter Filter) ([]Process, error) {
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := int32(os.Getpid())
	out := make([]Process, 0, 16)
	for _, p := range procs {
		if p.Pid == self {
			continue
		}
		name, err := p.NameWithContext(ctx)
		if err != nil {
			continue // exited, or not readable
		}
		if filter != nil && !filter(name) {
			continue
		}
		// An exited process that its parent has not reaped yet is not running.
		if st, err := p.StatusWithContext(ctx); err != nil || slices.Contains(st, process.Zombie) {
			continue
		}
		created, err := p.CreateTimeWithContext(ctx)
		if err != nil {
			continue
		}
		exe, _ := p.ExeWithContext(ctx) // "" when unreadable
		out = append(out, Process{PID: p.Pid, Started: time.UnixMilli(created), Name: name, Exe: exe})
	}
	return out, nil
}
