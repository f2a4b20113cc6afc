package schedslice

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sliceOf is the slice and nice the kernel reports for thread tid (safe to
// call from any goroutine: it fails the test with Error).
func sliceOf(t *testing.T, tid int) (time.Duration, int32) {
	t.Helper()
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Errorf("sched_getattr(%d): %v", tid, err)
		return -1, -1
	}
	return time.Duration(attr.Runtime), attr.Nice
}

// onNewThread runs f on a thread the process creates after the call (a
// goroutine locked to a fresh OS thread, which the runtime then ends).
func onNewThread(f func(tid int)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f(unix.Gettid())
	}()
	<-done
}

func TestSetEveryThreadAndBack(t *testing.T) {
	def, nice := sliceOf(t, unix.Gettid())
	t.Logf("default slice %v", def)
	if def == 0 {
		_, err := Set(300 * time.Microsecond)
		if !errors.Is(err, ErrNotSupported) {
			t.Fatalf("the kernel reports no slice, yet Set says %v", err)
		}
		t.Skipf("this kernel (%s) has no per-task slice", kernel())
	}
	res, err := Set(300 * time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Set(0) })
	if res.Slice != 300*time.Microsecond || res.Threads < 2 {
		t.Fatalf("Set(300µs) = %+v; want the slice on every thread", res)
	}
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		if s, n := sliceOf(t, tid); s != 300*time.Microsecond || n != nice {
			t.Errorf("thread %d: slice %v nice %d; want 300µs and the nice it had (%d)", tid, s, n, nice)
		}
	}
	// A thread started afterwards inherits it.
	onNewThread(func(tid int) {
		if s, _ := sliceOf(t, tid); s != 300*time.Microsecond {
			t.Errorf("a thread created after Set has slice %v; want 300µs", s)
		}
	})
	// The kernel clamps: below 0.1 ms is 0.1 ms.
	if res, err := Set(time.Microsecond); err != nil || res.Slice != 100*time.Microsecond {
		t.Errorf("Set(1µs) = %+v, %v; want the kernel's minimum, 100µs", res, err)
	}
	// 0 is the kernel's default again.
	if res, err := Set(0); err != nil || res.Slice != def {
		t.Errorf("Set(0) = %+v, %v; want the default slice %v back", res, err, def)
	}
	onNewThread(func(tid int) {
		if s, _ := sliceOf(t, tid); s != def {
			t.Errorf("a thread created after Set(0) has slice %v; want the default %v", s, def)
		}
	})
}

func TestSetKeepsNice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("lowering a thread's nice back needs root")
	}
	if def, _ := sliceOf(t, unix.Gettid()); def == 0 {
		t.Skipf("this kernel (%s) has no per-task slice", kernel())
	}
	onNewThread(func(tid int) {
		// A thread running at nice 5, as a unit's Nice= would make it.
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, 5); err != nil {
			t.Error(err)
			return
		}
		if _, err := setThread(tid, 200*time.Microsecond); err != nil {
			t.Error(err)
			return
		}
		s, n := sliceOf(t, tid)
		if n != 5 {
			t.Errorf("nice %d after setting the slice; want 5 kept", n)
		}
		if s != 200*time.Microsecond {
			t.Errorf("slice %v; want 200µs", s)
		}
	})
}

func TestSetRefusesNegative(t *testing.T) {
	if _, err := Set(-time.Millisecond); err == nil {
		t.Error("Set(-1ms) succeeded")
	}
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown: " + strconv.Quote(err.Error())
	}
	return unix.ByteSliceToString(u.Release[:])
}
