package procwatch

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Set VCGUARD_REQUIRE_EXEC_FILTER=1 (CI running as root on a VM) to turn
// "exec filter unavailable" skips into failures.
const requireExecFilterEnv = "VCGUARD_REQUIRE_EXEC_FILTER"

// openTestExecFilter loads the exec filter with names, skipping where this
// process may not load eBPF (not root, a container without CAP_BPF, a
// kernel before 5.8), and closes it at the end of the test.
func openTestExecFilter(tb testing.TB, ringBytes uint32, names ...string) *execFilter {
	tb.Helper()
	f, err := openExecFilter(names, ringBytes)
	if err != nil {
		msg := "the exec filter cannot be loaded here (needs CAP_BPF and CAP_PERFMON, Linux 5.8): " + err.Error()
		if os.Getenv(requireExecFilterEnv) == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// filterPump reads the filter on its own goroutine, like eventPump does
// the connector.
func filterPump(tb testing.TB, f *execFilter) *eventPump {
	p := &eventPump{events: make(chan procEvent, 1024), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]procEvent, 0, 64)
		for {
			evs, err := f.read(buf)
			for _, ev := range evs {
				p.events <- stamped(tb, ev)
			}
			if err != nil && !errors.Is(err, errOverrun) {
				p.err = err
				return
			}
		}
	}()
	tb.Cleanup(func() { f.Close(); <-p.done })
	return p
}

// stamped checks that the kernel stamped ev with its monotonic clock
// within the last minute, and returns ev without the stamp, so that the
// tests compare events by kind and process.
func stamped(tb testing.TB, ev procEvent) procEvent {
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		tb.Error(err)
	}
	if n := uint64(now.Nano()); ev.At == 0 || ev.At > n || n-ev.At > uint64(time.Minute) {
		tb.Errorf("%s of %d stamped %d ns, the monotonic clock reads %d ns: want a stamp of the last minute", ev.Kind, ev.PID, ev.At, n)
	}
	ev.At = 0
	return ev
}

// named returns a path that runs target under the short name name: exec
// sets comm from the name it was given, so a symbolic link is enough.
func named(tb testing.TB, target, name string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.Symlink(target, p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func startCmd(tb testing.TB, path string, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", path, err)
	}
	tb.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// Only the processes whose short name is in the names map are reported,
// their exec and then their exit.
func TestExecFilterReportsOnlyNamedProcesses(t *testing.T) {
	f := openTestExecFilter(t, execFilterRingBytes, "vcgfilt-a")
	p := filterPump(t, f)

	other := startCmd(t, "/bin/true")
	other.Wait()
	cmd := startCmd(t, named(t, "/bin/sleep", "vcgfilt-a"), "30")
	pid := int32(cmd.Process.Pid)
	seen := p.waitFor(t, procEvent{Kind: procExec, PID: pid})
	cmd.Process.Kill()
	cmd.Wait()
	seen = append(seen, p.waitFor(t, procEvent{Kind: procExit, PID: pid})...)
	for _, ev := range seen {
		if ev.PID == int32(other.Process.Pid) {
			t.Errorf("%s of %d (/bin/true, not a name of the filter) was reported", ev.Kind, ev.PID)
		}
	}
	if want := []procEvent{{Kind: procExec, PID: pid}, {Kind: procExit, PID: pid}}; !slices.Equal(seen, want) {
		t.Errorf("reports = %v, want %v", seen, want)
	}
}

// A tracked process that execs a name not in the map is reported (the
// watcher then sees it is no longer wanted) and no longer tracked: its
// exit is not reported.
func TestExecFilterReportsTrackedExecIntoOtherName(t *testing.T) {
	f := openTestExecFilter(t, execFilterRingBytes, "vcgfilt-l")
	p := filterPump(t, f)

	cmd := exec.Command(named(t, "/bin/sh", "vcgfilt-l"), "-c", `read line; exec /bin/sleep 30`)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := int32(cmd.Process.Pid)
	p.waitFor(t, procEvent{Kind: procExec, PID: pid})
	io.WriteString(in, "go\n")
	p.waitFor(t, procEvent{Kind: procExec, PID: pid})
	cmd.Process.Kill()
	cmd.Wait()
	sentinel := startCmd(t, named(t, "/bin/true", "vcgfilt-l"))
	sentinel.Wait()
	seen := p.waitFor(t, procEvent{Kind: procExit, PID: int32(sentinel.Process.Pid)})
	if slices.Contains(seen, procEvent{Kind: procExit, PID: pid}) {
		t.Errorf("the exit of %d, which had become /bin/sleep, was reported: %v", pid, seen)
	}
}

// A process found by a scan (running before the filter was loaded) has
// its exit reported once the watcher tracks it.
func TestExecFilterReportsExitOfScannedProcess(t *testing.T) {
	cmd := startCmd(t, named(t, "/bin/sleep", "vcgfilt-s"), "30")
	f := openTestExecFilter(t, execFilterRingBytes, "vcgfilt-s")
	p := filterPump(t, f)
	pid := int32(cmd.Process.Pid)
	if err := f.track([]int32{pid}); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	p.waitFor(t, procEvent{Kind: procExit, PID: pid})
}

// A thread that ends is not its process's exit, even when the process is
// tracked.
func TestExecFilterDropsThreadExit(t *testing.T) {
	f := openTestExecFilter(t, execFilterRingBytes, "vcgfilt-t")
	p := filterPump(t, f)
	if err := f.track([]int32{int32(os.Getpid())}); err != nil {
		t.Fatal(err)
	}
	var tid int
	for range 10 {
		ch := make(chan int)
		go func() {
			runtime.LockOSThread() // the thread ends with the goroutine
			ch <- unix.Gettid()
		}()
		if tid = <-ch; tid != os.Getpid() {
			break
		}
	}
	if tid == os.Getpid() {
		t.Skip("could not get a thread other than the main one to exit")
	}
	task := "/proc/self/task/" + strconv.Itoa(tid)
	for deadline := time.Now().Add(connectorWait); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d did not exit", tid)
		}
	}
	sentinel := startCmd(t, named(t, "/bin/true", "vcgfilt-t"))
	sentinel.Wait()
	seen := p.waitFor(t, procEvent{Kind: procExit, PID: int32(sentinel.Process.Pid)})
	for _, ev := range seen {
		if ev.PID == int32(tid) || ev.PID == int32(os.Getpid()) {
			t.Errorf("thread %d's exit reported as %s of %d", tid, ev.Kind, ev.PID)
		}
	}
}

// setNames replaces the names: a removed name is no longer reported, an
// added one is; a name longer than a comm is left out.
func TestExecFilterSetNames(t *testing.T) {
	f := openTestExecFilter(t, execFilterRingBytes, "vcgfilt-old")
	p := filterPump(t, f)
	if err := f.setNames([]string{"vcgfilt-new", "a-name-longer-than-15"}); err != nil {
		t.Fatal(err)
	}
	if got := len(f.current); got != 1 {
		t.Errorf("%d names in the map, want 1", got)
	}
	old := startCmd(t, named(t, "/bin/true", "vcgfilt-old"))
	old.Wait()
	cmd := startCmd(t, named(t, "/bin/true", "vcgfilt-new"))
	cmd.Wait()
	seen := p.waitFor(t, procEvent{Kind: procExit, PID: int32(cmd.Process.Pid)})
	for _, ev := range seen {
		if ev.PID == int32(old.Process.Pid) {
			t.Errorf("%s of %d reported after its name was removed", ev.Kind, ev.PID)
		}
	}
}

// A ring buffer with no room left counts the reports it lost; read
// delivers what it holds, then errOverrun once (the watcher rescans).
func TestExecFilterOverrun(t *testing.T) {
	f := openTestExecFilter(t, uint32(os.Getpagesize()), "vcgfilt-o")
	exe := named(t, "/bin/true", "vcgfilt-o")
	// 24 bytes a report: a page holds 170, 200 processes make 400.
	for range 200 {
		cmd := exec.Command(exe)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	}
	var got int
	for {
		evs, err := f.read(make([]procEvent, 0, 64))
		got += len(evs)
		if errors.Is(err, errOverrun) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got == 0 || got >= 400 {
		t.Errorf("read %d reports before the overrun, want some but fewer than 400", got)
	}
	t.Logf("%d of 400 reports fitted", got)
}

// Close unblocks a read in progress.
func TestExecFilterCloseUnblocksRead(t *testing.T) {
	f := openTestExecFilter(t, execFilterRingBytes, "vcgfilt-c")
	done := make(chan error, 1)
	go func() {
		_, err := f.read(nil)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	f.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read after Close returned no error")
		}
	case <-time.After(connectorWait):
		t.Fatal("read still blocked after Close")
	}
}

func TestParseFilterReport(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want procEvent
		ok   bool
	}{
		{[]byte{1, 0, 0, 0, 7, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0}, procEvent{Kind: procExec, PID: 7, At: 0x0201}, true},
		{[]byte{2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, procEvent{Kind: procExit, PID: 256, At: 1 << 56}, true},
		{[]byte{3, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, procEvent{}, false},
		// The 8-byte reports of earlier builds are refused: no time.
		{[]byte{1, 0, 0, 0, 7, 0, 0, 0}, procEvent{}, false},
		{[]byte{1, 0, 0}, procEvent{}, false},
	} {
		if got, ok := parseFilterReport(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("parseFilterReport(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
