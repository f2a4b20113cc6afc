package procwatch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	exe := copyExe(t, "/bin/sleep", t.TempDir(), name)
	var (
		cmd *exec.Cmd
		err error
	)
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

// copyExe copies the executable src to dir/name and returns the copy's
// resolved path, which /proc/PID/exe names.
func copyExe(t testing.TB, src, dir, name string) string {
	t.Helper()
	exe := filepath.Join(dir, name)
	in, err := os.Open(src)
	if err != nil {
		t.Fatalf("no %s to copy: %v", src, err)
	}
	defer in.Close()
	dst, err := os.OpenFile(exe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, in); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}
	return exe
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

func only(name string) procwatch.Filter {
	short := procwatch.TruncateComm(name)
	return func(n string) bool { return n == short }
}

func find(t testing.TB, procs []procwatch.Process, pid int) (procwatch.Process, bool) {
	t.Helper()
	for _, p := range procs {
		if p.PID == int32(pid) {
			return p, true
		}
	}
	return procwatch.Process{}, false
}

// scan runs a full scan with a fresh watcher and returns what it found.
func scan(t testing.TB, filter procwatch.Filter) []procwatch.Process {
	t.Helper()
	w := procwatch.New(procwatch.Config{Filter: filter})
	ch, err := w.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if !ch.Full || len(ch.Exited) != 0 {
		t.Fatalf("first Scan = %+v, want Full with no exits", ch)
	}
	return ch.Started
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
	if p.Name != "zoom" || p.ShortName != "zoom" {
		t.Errorf("Name, ShortName = %q, %q, want zoom", p.Name, p.ShortName)
	}
	if p.Exe != exe {
		t.Errorf("Exe = %q, want %q", p.Exe, exe)
	}
	if p.PPID != int32(os.Getpid()) {
		t.Errorf("PPID = %d, want the test's %d", p.PPID, os.Getpid())
	}
	// The start time comes from the boot time (whole seconds) plus clock
	// ticks since boot: allow for that rounding.
	if p.Started.IsZero() || p.Started.Before(before.Add(-2*time.Second)) || p.Started.After(time.Now().Add(2*time.Second)) {
		t.Errorf("Started = %v, want about %v", p.Started, before)
	}
	for _, q := range procs {
		if q.ShortName != "zoom" {
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
	w := procwatch.New(procwatch.Config{Filter: only("zoom")})
	ch, err := w.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(t, ch.Started, pid); !ok {
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
	if p, ok := find(t, scan(t, only("zoom")), pid); ok {
		t.Errorf("Scan reports the zombie %+v (/proc/%d/stat: %s)", p, pid, stat)
	}
	// The watcher that knew it reports it exited, by Poll as by Scan.
	ch, err = w.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(t, ch.Exited, pid); !ok {
		t.Errorf("Poll after the exit = %+v, want process %d exited", ch, pid)
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
	if p.Name != name || p.Exe != exe || p.ShortName != name[:15] {
		t.Errorf("got Name %q ShortName %q Exe %q, want %q %q %q", p.Name, p.ShortName, p.Exe, name, name[:15], exe)
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
		t.Errorf("Scan reports the watcher itself: %+v", p)
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

// Poll finds processes that started and exited since the last scan.
func TestPollFollowsStartAndExit(t *testing.T) {
	t.Parallel()
	w := procwatch.New(procwatch.Config{Filter: only("teams-for-linux")})
	ctx := context.Background()
	if _, err := w.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	cmd, exe := startAs(t, "teams-for-linux")
	ch, err := w.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := find(t, ch.Started, cmd.Process.Pid)
	if !ok || p.Exe != exe || ch.Full {
		t.Fatalf("Poll after the start = %+v, want process %d started (not Full)", ch, cmd.Process.Pid)
	}
	if ch, err = w.Poll(ctx); err != nil || !ch.Empty() {
		t.Fatalf("Poll with nothing new = %+v, %v; want no change", ch, err)
	}
	if tr := w.Tracked(); len(tr) != 1 || tr[0].Key() != p.Key() {
		t.Errorf("Tracked() = %+v, want the one process", tr)
	}
	cmd.Process.Kill()
	cmd.Wait()
	ch, err = w.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := find(t, ch.Exited, cmd.Process.Pid); !ok || q.Key() != p.Key() {
		t.Fatalf("Poll after the exit = %+v, want process %d exited", ch, cmd.Process.Pid)
	}
}

// Run with the exec filter or the proc connector (root), or polling,
// reports the initial set, then starts and exits as they happen.
func TestRunReportsStartAndExit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noEvents bool
		filter   bool // ShortNames given: the exec filter where it loads
		mode     procwatch.Mode
	}{
		{"filter", false, true, procwatch.ModeExecFilter},
		{"events", false, false, procwatch.ModeEvents},
		{"poll", true, false, procwatch.ModePoll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.noEvents && os.Geteuid() != 0 {
				t.Skip("process events need root")
			}
			name := "vcgrun-" + tc.name
			before, _ := startAs(t, name)
			changes := make(chan procwatch.Changes, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			log := &modeLog{}
			cfg := procwatch.Config{Filter: only(name), NoEvents: tc.noEvents, PollInterval: 20 * time.Millisecond, Logger: slog.New(log)}
			if tc.filter {
				cfg.ShortNames = func() []string { return []string{procwatch.TruncateComm(name)} }
			}
			w := procwatch.New(cfg)
			go func() { done <- w.Run(ctx, func(c procwatch.Changes) { changes <- c }) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			next := func(what string) procwatch.Changes {
				t.Helper()
				select {
				case c := <-changes:
					return c
				case <-time.After(10 * time.Second):
					t.Fatalf("no change reported for %s", what)
					return procwatch.Changes{}
				}
			}
			first := next("the initial scan")
			if _, ok := find(t, first.Started, before.Process.Pid); !first.Full || !ok {
				t.Fatalf("first change %+v, want Full with process %d", first, before.Process.Pid)
			}
			// The poll loop names its mode once it starts, just after the
			// first scan's report: wait for the line, not for a race.
			got := log.mode()
			for deadline := time.Now().Add(10 * time.Second); got == "" && time.Now().Before(deadline); got = log.mode() {
				time.Sleep(5 * time.Millisecond)
			}
			if got != tc.mode {
				msg := fmt.Sprintf("Run followed processes in mode %q, want %q (log: %s)", got, tc.mode, log.text())
				if tc.filter && os.Getenv("VCGUARD_REQUIRE_EXEC_FILTER") != "1" {
					t.Skip(msg)
				}
				t.Fatal(msg)
			}
			cmd, _ := startAs(t, name)
			if c := next("the start"); len(c.Started) != 1 || c.Started[0].PID != int32(cmd.Process.Pid) {
				t.Fatalf("change after the start = %+v, want process %d started", c, cmd.Process.Pid)
			}
			cmd.Process.Kill()
			cmd.Wait()
			if c := next("the exit"); len(c.Exited) != 1 || c.Exited[0].PID != int32(cmd.Process.Pid) {
				t.Fatalf("change after the exit = %+v, want process %d exited", c, cmd.Process.Pid)
			}
			before.Process.Kill()
			before.Wait()
			if c := next("the exit of the process found at start"); len(c.Exited) != 1 || c.Exited[0].PID != int32(before.Process.Pid) {
				t.Fatalf("change after the exit = %+v, want process %d exited", c, before.Process.Pid)
			}
		})
	}
}

// Refilter makes a running watcher take up new names at once: a process
// already running under a newly wanted name is found, and so is the next
// one started, in every mode.
func TestRunRefilter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noEvents bool
	}{{"filter", false}, {"poll", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.noEvents && os.Geteuid() != 0 {
				t.Skip("process events need root")
			}
			name := "vcgref-" + tc.name
			var wanted atomic.Pointer[string]
			none := ""
			wanted.Store(&none)
			cfg := procwatch.Config{
				Filter:     func(n string) bool { return n == *wanted.Load() },
				ShortNames: func() []string { return []string{*wanted.Load()} },
				NoEvents:   tc.noEvents, PollInterval: 20 * time.Millisecond, RescanInterval: time.Hour,
			}
			w := procwatch.New(cfg)
			changes := make(chan procwatch.Changes, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, func(c procwatch.Changes) { changes <- c }) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			next := func(what string) procwatch.Changes {
				t.Helper()
				select {
				case c := <-changes:
					return c
				case <-time.After(10 * time.Second):
					t.Fatalf("no change reported for %s", what)
					return procwatch.Changes{}
				}
			}
			next("the initial scan")
			running, _ := startAs(t, name)
			time.Sleep(50 * time.Millisecond) // not wanted yet: not reported
			short := procwatch.TruncateComm(name)
			wanted.Store(&short)
			w.Refilter()
			if c := next("the rescan after Refilter"); !c.Full {
				t.Fatalf("change after Refilter = %+v, want a full rescan", c)
			} else if _, ok := find(t, c.Started, running.Process.Pid); !ok {
				t.Fatalf("change after Refilter = %+v, want process %d started", c, running.Process.Pid)
			}
			cmd, _ := startAs(t, name)
			if c := next("the start"); len(c.Started) != 1 || c.Started[0].PID != int32(cmd.Process.Pid) {
				t.Fatalf("change after the start = %+v, want process %d started", c, cmd.Process.Pid)
			}
		})
	}
}

// modeLog records the watcher's log, to tell which mode Run chose.
type modeLog struct {
	mu    sync.Mutex
	lines []string
	m     procwatch.Mode
}

func (l *modeLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *modeLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *modeLog) WithGroup(string) slog.Handler            { return l }
func (l *modeLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		if a.Key == "mode" {
			l.m = procwatch.Mode(a.Value.String())
		}
		return true
	})
	l.lines = append(l.lines, line)
	return nil
}

func (l *modeLog) mode() procwatch.Mode {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m
}

func (l *modeLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "; ")
}

// startHeld starts launcher with sh's arguments to wait for a line on its
// standard input and then exec target: the test decides when the exec
// happens. release sends the line and waits until the process runs target.
func startHeld(t *testing.T, launcher, target string) (cmd *exec.Cmd, release func()) {
	t.Helper()
	cmd = exec.Command(launcher, "-c", `read line; exec "$0" 600`, target)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", launcher, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, func() {
		t.Helper()
		if _, err := io.WriteString(in, "go\n"); err != nil {
			t.Fatalf("release %s: %v", launcher, err)
		}
		link := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe"
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if exe, _ := os.Readlink(link); exe == target {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d did not exec %s within 10 s", cmd.Process.Pid, target)
			}
		}
	}
}

// A process a poll finds between fork and exec still bears its parent's
// name; the app it then becomes is reported by the next poll, not minutes
// later by a rescan.
func TestPollSeesAppExecdAfterFork(t *testing.T) {
	const name = "vcgforked"
	w := procwatch.New(procwatch.Config{Filter: only(name)})
	ctx := context.Background()
	if _, err := w.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	target := copyExe(t, "/bin/sleep", t.TempDir(), name)
	cmd, release := startHeld(t, "/bin/sh", target)
	if ch, err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	} else if _, ok := find(t, ch.Started, cmd.Process.Pid); ok {
		t.Fatalf("Poll before the exec = %+v, want the shell not reported", ch)
	}
	release()
	ch, err := w.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := find(t, ch.Started, cmd.Process.Pid); !ok || p.Exe != target {
		t.Fatalf("Poll after the exec = %+v, want process %d started as %s", ch, cmd.Process.Pid, target)
	}
}

// A tracked process that execs another image (a launcher handing over to
// the app it launches) is reported as the old one exited and the new one
// started, as the proc connector's exec event reports it.
func TestPollSeesTrackedProcessExec(t *testing.T) {
	const name = "vcglaunch"
	launcher := copyExe(t, "/bin/sh", t.TempDir(), name)
	target := copyExe(t, "/bin/sleep", t.TempDir(), name)
	w := procwatch.New(procwatch.Config{Filter: only(name)})
	ctx := context.Background()
	if _, err := w.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	cmd, release := startHeld(t, launcher, target)
	ch, err := w.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := find(t, ch.Started, cmd.Process.Pid); !ok || p.Exe != launcher {
		t.Fatalf("Poll after the start = %+v, want process %d started as %s", ch, cmd.Process.Pid, launcher)
	}
	release()
	if ch, err = w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	gone, ok1 := find(t, ch.Exited, cmd.Process.Pid)
	now, ok2 := find(t, ch.Started, cmd.Process.Pid)
	if !ok1 || !ok2 || gone.Exe != launcher || now.Exe != target {
		t.Fatalf("Poll after the exec = %+v, want %s exited and %s started under PID %d", ch, launcher, target, cmd.Process.Pid)
	}
}
