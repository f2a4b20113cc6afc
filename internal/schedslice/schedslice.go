// Package schedslice asks the Linux scheduler for a short time slice for
// every thread of this process.
//
// Since Linux 6.6 the fair scheduler is EEVDF: a task that wakes up is
// given a virtual deadline of its eligible time plus its slice, and it
// preempts the running task when its deadline comes first. Since Linux
// 6.12 a task may ask for its own slice (sched_setattr's sched_runtime for
// SCHED_OTHER, clamped to 0.1–100 ms); a task with a shorter slice than
// the running one preempts it at wake-up. Its share of the CPU is still
// set by its weight (nice), not by its slice: a short slice trades longer
// runs for earlier ones and gives the task no more CPU time.
//
// That is the agent's case. It sleeps almost all the time and, when the
// kernel reports a catalog app's exec, runs for a fraction of a
// millisecond; on a machine busy with other processes it otherwise waits
// for the running task's default slice (0.75 ms times 1 + log2 of the
// CPUs) before it can act. A higher priority (a negative nice) would make
// it prompt too, but by taking CPU time from the employee's work whenever
// the two compete; the slice does not.
//
// Threads created later inherit the slice from the thread that creates
// them, and so do child processes (the tools the agent starts, such as
// pw-dump): they keep their normal weight. Kernels before 6.12 ignore the
// request; Set says so. Elsewhere than Linux it does nothing.
package schedslice

import (
	"errors"
	"time"
)

// ErrNotSupported is returned where the kernel has no per-task slice.
var ErrNotSupported = errors.New("the scheduler has no per-task time slice (Linux 6.12 or later is needed)")

// Result says what Set did.
type Result struct {
	// Threads is how many of the process's threads took the slice.
	Threads int
	// Slice is the slice the kernel reports for the calling thread after
	// the change (it clamps the request); 0 where it reports none.
	Slice time.Duration
}

// Set sets the time slice of every thread of the process to d, or back to
// the kernel's default when d is 0, keeping each thread's scheduling
// policy and nice value. A thread that is not SCHED_OTHER (or SCHED_BATCH)
// is left alone. It returns ErrNotSupported, having changed nothing that
// matters, on a kernel that ignores the request.
func Set(d time.Duration) (Result, error) { return set(d) }
