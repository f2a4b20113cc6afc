package procwatch_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/vcguard/vcguard/agent/procwatch"
)

// startAs copies /bin/sleep into a temporary directory under name and starts
// it, so the process table holds a real process by that name. The process is
// killed and reaped when the test ends unless the test did so.
func startAs(t testing.TB, name string) (*exec.Cmd, string) {
	t.Helper()
	exe := filepath.Join(t.TempDir(), name)
	src, err := os.Open("/bin/sleep")
	if err != nil {
		t.Fatalf("no /bin/sleep to copy: %v", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(exe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	// /proc/PID/exe names the resolved path.
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	for attempt := 0; ; attempt++ {
		cmd = exec.Command(exe, "600")
		err = cmd.Start()
		// A process forked elsewhere in this test binary while the copy was
		// open for writing can briefly hold it open (golang.org/issue/22315).
		if errors.Is(err, syscall.ETXTBSY) && attempt < 50 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, exe
}

// waitExited blocks until pid has exited without reaping it, leaving a
// zombie: waitid(P_PID, pid, WEXITED|WNOWAIT).
func waitExited(t testing.TB, pid int) {
	t.Helper()
	const pPID = 1
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			t.Fatalf("waitid(%d): %v", pid, errno)
		}
		return
	}
}

func only(name string) procwatch.Filter { return func(n string) bool { return n == name } }

func find(t testing.TB, procs []procwatch.Process, pid int) (procwatch.Process, bool) {
	t.Helper()
	for _, p := range procs {
		if p.PID == int32(pid) {
			return p, true
		}
	}
	return procwatch.Process{}, false
}

func scan(t testing.TB, filter procwatch.Filter) []procwatch.Process {
	t.Helper()
	procs, err := procwatch.Scan(context.Background(), filter)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return procs
}

func TestScanFindsRunningProcess(t *testing.T) {
	t.Parallel()
	before := time.Now()
	cmd, exe := startAs(t, "zoom")

	procs := scan(t, only("zoom"))
	p, ok := find(t, procs, cmd.Process.Pid)
	if !ok {
		t.Fatalf("Scan did not report the zoom process %d; got %v", cmd.Process.Pid, procs)
	}
	if p.Name != "zoom" {
		t.Errorf("Name = %q, want zoom", p.Name)
	}
	if p.Exe != exe {
		t.Errorf("Exe = %q, want %q", p.Exe, exe)
	}
	// The start time comes from the boot time (whole seconds) plus clock
	// ticks since boot: allow for that rounding.
	if p.Started.IsZero() || p.Started.Before(before.Add(-2*time.Second)) || p.Started.After(time.Now().Add(2*time.Second)) {
		t.Errorf("Started = %v, want about %v", p.Started, before)
	}
	for _, q := range procs {
		if q.Name != "zoom" {
			t.Errorf("the filter let %q (pid %d) through", q.Name, q.PID)
		}
	}

	// The same process has the same key in every scan.
	for range 3 {
		q, ok := find(t, scan(t, only("zoom")), cmd.Process.Pid)
		if !ok {
			t.Fatal("the zoom process vanished from a later scan")
		}
		if q.Key() != p.Key() {
			t.Fatalf("Key() = %+v in a later scan, was %+v", q.Key(), p.Key())
		}
	}
	if p.Key() != (procwatch.Key{PID: p.PID, Started: p.Started.UnixMilli()}) {
		t.Errorf("Key() = %+v for %+v", p.Key(), p)
	}

	// Gone once it has exited and been reaped.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if q, ok := find(t, scan(t, only("zoom")), cmd.Process.Pid); ok {
		t.Errorf("Scan still reports the killed process: %+v", q)
	}
}

// An exited process whose parent has not reaped it yet stays in the process
// table as a zombie; it no longer runs and must not be reported.
func TestScanSkipsZombie(t *testing.T) {
	t.Parallel()
	cmd, _ := startAs(t, "zoom")
	pid := cmd.Process.Pid
	if _, ok := find(t, scan(t, only("zoom")), pid); !ok {
		t.Fatalf("Scan did not report the running process %d", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitExited(t, pid)
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatalf("the zombie is not in /proc: %v", err)
	}
	if !strings.Contains(string(stat), ") Z ") {
		t.Fatalf("process %d is not a zombie: %s", pid, stat)
	}
	if procs := scan(t, only("zoom")); len(procs) > 0 {
		if p, ok := find(t, procs, pid); ok {
			t.Errorf("Scan reports the zombie %+v (/proc/%d/stat: %s)", p, pid, stat)
		}
	}
	cmd.Wait()
}

// Linux truncates comm to 15 bytes; the name must be the full base name,
// since catalog executables like jitsi-meet-electron are longer.
func TestScanReportsFullLongName(t *testing.T) {
	t.Parallel()
	const name = "jitsi-meet-electron"
	cmd, exe := startAs(t, name)
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/comm")
	if err != nil {
		t.Fatal(err)
	}
	if string(comm) != name[:15]+"\n" {
		t.Logf("comm is %q: this kernel does not truncate", comm)
	}
	p, ok := find(t, scan(t, only(name)), cmd.Process.Pid)
	if !ok {
		t.Fatalf("Scan with a filter for %q did not report process %d", name, cmd.Process.Pid)
	}
	if p.Name != name || p.Exe != exe {
		t.Errorf("got Name %q Exe %q, want %q %q", p.Name, p.Exe, name, exe)
	}
}

func TestScanWithoutFilter(t *testing.T) {
	t.Parallel()
	cmd, _ := startAs(t, "zoom")
	procs := scan(t, nil)
	if _, ok := find(t, procs, cmd.Process.Pid); !ok {
		t.Errorf("Scan(nil) did not report the child %d", cmd.Process.Pid)
	}
	if p, ok := find(t, procs, os.Getpid()); ok {
		t.Errorf("Scan reports the agent itself: %+v", p)
	}
	seen := map[procwatch.Key]bool{}
	for _, p := range procs {
		if p.Name == "" || p.Started.IsZero() {
			t.Errorf("incomplete process %+v", p)
		}
		if seen[p.Key()] {
			t.Errorf("process %+v reported twice", p)
		}
		seen[p.Key()] = true
	}
}

// benchFilter passes what a catalog matcher would: a handful of names.
func benchFilter(name string) bool {
	switch name {
	case "zoom", "teams", "teams-for-linux", "skypeforlinux", "signal-desktop", "jitsi-meet":
		return true
	}
	return false
}

// BenchmarkScan measures one scan of the live process table with a catalog
// sized filter; compare with BenchmarkProcFloor.
func BenchmarkScan(b *testing.B) {
	startAs(b, "zoom")
	ctx := context.Background()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		procs, err := procwatch.Scan(ctx, benchFilter)
		if err != nil {
			b.Fatal(err)
		}
		n = len(procs)
	}
	b.ReportMetric(float64(countPIDs(b)), "pids")
	b.ReportMetric(float64(n), "matches")
}

// BenchmarkProcFloor is the least any scan does: read /proc/PID/comm for
// every PID.
func BenchmarkProcFloor(b *testing.B) {
	startAs(b, "zoom")
	b.ReportAllocs()
	for b.Loop() {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
			if err != nil {
				continue // exited meanwhile
			}
			benchFilter(string(comm[:max(len(comm)-1, 0)]))
		}
	}
	b.ReportMetric(float64(countPIDs(b)), "pids")
}

func countPIDs(b *testing.B) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	return n
}
