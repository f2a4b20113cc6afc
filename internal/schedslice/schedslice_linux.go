package schedslice

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

func set(d time.Duration) (Result, error) {
	if d < 0 {
		return Result{}, fmt.Errorf("slice %v: must not be negative", d)
	}
	// A thread created while the list is read may be missed; it inherits
	// from its creator, which may not have had the slice yet. Listing
	// again until nothing new turns up catches it (Go starts threads
	// rarely: a second pass is almost always the last).
	done := map[int]bool{}
	var res Result
	for pass := 0; pass < 5; pass++ {
		tids, err := threads()
		if err != nil {
			return res, err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			done[tid] = true
			fresh++
			ok, err := setThread(tid, d)
			if err != nil {
				return res, fmt.Errorf("thread %d: %w", tid, err)
			}
			if ok {
				res.Threads++
			}
		}
		if fresh == 0 {
			break
		}
	}
	attr, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return res, fmt.Errorf("read back the slice: %w", err)
	}
	res.Slice = time.Duration(attr.Runtime)
	// A kernel without per-task slices reports no runtime for a fair
	// task; one with them reports the slice in force (the default when
	// d is 0).
	if res.Slice == 0 {
		return res, ErrNotSupported
	}
	return res, nil
}

// setThread gives thread tid the slice d, keeping its policy and nice; it
// reports false for a thread that is gone or not in the fair class.
func setThread(tid int, d time.Duration) (bool, error) {
	attr, err := unix.SchedGetAttr(tid, 0)
	if errors.Is(err, unix.ESRCH) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if attr.Policy != unix.SCHED_NORMAL && attr.Policy != unix.SCHED_BATCH {
		return false, nil
	}
	attr.Size = unix.SizeofSchedAttr
	attr.Runtime = uint64(d)
	attr.Deadline, attr.Period = 0, 0
	// Only the slice changes: clamps of utilisation stay as they are.
	attr.Flags &^= unix.SCHED_FLAG_UTIL_CLAMP_MIN | unix.SCHED_FLAG_UTIL_CLAMP_MAX
	if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// threads lists the process's threads (/proc/self/task).
func threads() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("list the process's threads: %w", err)
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
