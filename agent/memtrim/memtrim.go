// Package memtrim hands back, while the agent idles, the memory it only
// needed for a moment: the Go heap the runtime keeps after a burst of work,
// and the pages of the agent's own executable that start-up (enrollment,
// TLS, the catalog and schema parsing, the first scan) touched once and
// that nothing runs again.
//
// Linux does not unmap file pages a process no longer uses until memory
// runs short, so an agent that touched its whole 14 MB binary at start
// keeps it in its resident set for hours although it then runs about a
// megabyte of it (measured with clear_refs: issue 13's note). Trim drops
// the mappings of the executable's read-only pages (MADV_DONTNEED): the
// pages stay in the page cache, and the ones the agent runs again come back
// with a minor fault, without I/O. Pages a read-only mapping holds a
// private copy of (relocations of a position-independent build, a
// debugger's breakpoints) would be lost by that, so a mapping holding any
// is left alone. On Windows the working set is emptied
// (SetProcessWorkingSetSizeEx with -1, -1: the documented way to trim it),
// which moves the pages to the standby list, from where a soft fault takes
// them back. Elsewhere only the Go heap is handed back.
package memtrim

import (
	"context"
	"runtime/debug"
	"time"
)

// Stats is what one Trim did.
type Stats struct {
	// Mappings is how many mappings of the executable were dropped, and
	// Bytes their length (not all of it was resident).
	Mappings int
	Bytes    uint64
	// Skipped counts read-only mappings of the executable left alone
	// because they hold private copies of pages.
	Skipped int
}

// Trim returns the free Go heap to the OS and drops the executable's
// read-only pages from the resident set where the OS allows it.
func Trim() (Stats, error) {
	debug.FreeOSMemory()
	return trimImage()
}

// Run trims once first after start, then every interval, until ctx ends.
// report, when not nil, is told of each trim.
func Run(ctx context.Context, first, every time.Duration, report func(Stats, error)) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := Trim()
		if report != nil {
			report(s, err)
		}
		t.Reset(every)
	}
}
