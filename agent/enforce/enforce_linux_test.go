package enforce

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/procwatch"
)

// appName is the name of the test's forbidden app: a copy of /bin/sh.
const appName = "forbidden-app"

// shell is the test's forbidden app, a copy of /bin/sh named appName, or
// "" when it could not be made. TestMain makes it before any test starts
// a process: writing an executable while another goroutine forks fails
// with "text file busy", since the child holds the file open until it
// execs.
var shell string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "enforce-test-")
	if err != nil {
		panic(err)
	}
	if b, err := os.ReadFile("/bin/sh"); err == nil {
		exe := filepath.Join(dir, appName)
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			panic(err)
		}
		shell = exe
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// copyShell returns the path of the test's forbidden app.
func copyShell(t *testing.T) string {
	t.Helper()
	if shell == "" {
		t.Skip("no /bin/sh to copy")
	}
	return shell
}

// proc is a process the test started, known by PID and start ticks.
type proc struct {
	pid   int32
	ticks int64
}

func procOf(t *testing.T, pid int32) proc {
	t.Helper()
	st, err := readStat(pid)
	if err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	return proc{pid, st.StartTicks}
}

// running reports whether p still runs: not exited (a zombie has, and
// the test's PID 1 may never reap the orphans), and not stopped.
func (p proc) running(t *testing.T) bool {
	t.Helper()
	st, err := readStat(p.pid)
	if err != nil || st.exited() || st.StartTicks != p.ticks {
		return false
	}
	if st.State == 'T' || st.State == 't' {
		t.Errorf("pid %d is stopped", p.pid)
	}
	return true
}

// app is a running test app: a shell that started one child, and that
// waits for it.
type app struct {
	cmd         *exec.Cmd
	root, child proc
	lines       <-chan string // what the shell prints after the child's PID
}

// startApp runs exe (a shell) with script, which starts one child in the
// background, prints its PID on the first line and waits.
func startApp(t *testing.T, exe, script string) *app {
	t.Helper()
	cmd := exec.Command(exe, "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group: root and child
		cmd.Wait()
	})
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	line, ok := <-lines
	if !ok {
		t.Fatal("the shell printed no child PID")
	}
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("child PID %q: %v", line, err)
	}
	return &app{cmd: cmd, root: procOf(t, int32(cmd.Process.Pid)), child: procOf(t, int32(pid)), lines: lines}
}

// targetOf returns the target procwatch reports for pid: the key and
// executable as the agent would have them.
func targetOf(t *testing.T, pid int32) Target {
	t.Helper()
	w := procwatch.New(procwatch.Config{
		Filter:   func(name string) bool { return name == appName },
		NoEvents: true,
	})
	ch, err := w.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ch.Started {
		if p.PID == pid {
			if p.Exe == "" {
				t.Fatalf("procwatch reports no executable for pid %d", pid)
			}
			return Target{Key: p.Key(), AppID: "test-app", Exe: p.Exe}
		}
	}
	t.Fatalf("procwatch does not list pid %d", pid)
	return Target{}
}

// exitSignal waits for the app's shell and returns the signal it died of.
func (a *app) exitSignal(t *testing.T) syscall.Signal {
	t.Helper()
	a.cmd.Wait()
	ws, ok := a.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		t.Fatalf("pid %d ended with %v, not by a signal", a.root.pid, a.cmd.ProcessState)
	}
	return ws.Signal()
}

// await waits for a result, failing the test after a generous time.
func await(t *testing.T, results <-chan Result) Result {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no result")
		return Result{}
	}
}

func TestBlockKillsTreeAndLeavesSibling(t *testing.T) {
	t.Parallel()
	exe := copyShell(t)
	forbidden := startApp(t, exe, `sleep 600 & echo $!; wait`)
	sibling := startApp(t, exe, `sleep 600 & echo $!; wait`)
	target := targetOf(t, forbidden.root.pid)

	e := New(Config{KillAfter: 5 * time.Second})
	defer e.Close()
	const grace = 300 * time.Millisecond
	results := make(chan Result, 1)
	scheduled := time.Now()
	e.Schedule(target, grace, func(r Result) { results <- r })

	// Before the grace period ends the app runs untouched. The check means
	// something only when it was done in time.
	alive := forbidden.root.running(t) && forbidden.child.running(t)
	if early := time.Since(scheduled); !alive && early < grace {
		t.Fatalf("the app was closed %v after Schedule, before its grace period of %v", early, grace)
	}

	r := await(t, results)
	if took := r.At.Sub(scheduled); took < grace {
		t.Errorf("the enforcer acted %v after Schedule, before the grace period of %v", took, grace)
	}
	if r.Err != nil {
		t.Fatalf("Result.Err = %v", r.Err)
	}
	if want := []int32{forbidden.root.pid, forbidden.child.pid}; !slices.Equal(r.Killed, want) {
		t.Errorf("Result.Killed = %v, want %v (root, then its child)", r.Killed, want)
	}
	if r.Target != target {
		t.Errorf("Result.Target = %+v, want %+v", r.Target, target)
	}
	if sig := forbidden.exitSignal(t); sig != syscall.SIGTERM {
		t.Errorf("the app's shell died of %v, want SIGTERM", sig)
	}
	if forbidden.child.running(t) {
		t.Errorf("the app's child %d still runs", forbidden.child.pid)
	}
	if !sibling.root.running(t) || !sibling.child.running(t) {
		t.Errorf("the sibling app (pids %d, %d) was touched", sibling.root.pid, sibling.child.pid)
	}
}

func TestBlockEscalatesToSIGKILL(t *testing.T) {
	t.Parallel()
	// The child inherits the ignored SIGTERM, so both need SIGKILL.
	a := startApp(t, copyShell(t), `trap "" TERM; sleep 600 & echo $!; wait`)
	target := targetOf(t, a.root.pid)

	const killAfter = 200 * time.Millisecond
	e := New(Config{KillAfter: killAfter})
	defer e.Close()
	results := make(chan Result, 1)
	e.Schedule(target, 0, func(r Result) { results <- r })
	r := await(t, results)
	if r.Err != nil {
		t.Fatalf("Result.Err = %v", r.Err)
	}
	if took := time.Since(r.At); took < killAfter {
		t.Errorf("the processes were gone %v after the enforcer acted, before KillAfter %v: did they ignore SIGTERM?", took, killAfter)
	}
	if want := []int32{a.root.pid, a.child.pid}; !slices.Equal(r.Killed, want) {
		t.Errorf("Result.Killed = %v, want %v", r.Killed, want)
	}
	if sig := a.exitSignal(t); sig != syscall.SIGKILL {
		t.Errorf("the app's shell died of %v, want SIGKILL", sig)
	}
	if a.child.running(t) {
		t.Errorf("the app's child %d still runs", a.child.pid)
	}
}

func TestCancelBeforeGrace(t *testing.T) {
	t.Parallel()
	a := startApp(t, copyShell(t), `sleep 600 & echo $!; wait`)
	target := targetOf(t, a.root.pid)

	graceOver := make(chan time.Time, 1)
	e := New(Config{After: func(time.Duration) <-chan time.Time { return graceOver }})
	e.Schedule(target, time.Minute, func(r Result) { t.Errorf("cancelled block ran: %+v", r) })
	e.Cancel(target.Key)
	graceOver <- time.Now()
	e.Close()
	if !a.root.running(t) || !a.child.running(t) {
		t.Error("a cancelled block closed the app")
	}
}

// TestNotTheTarget checks the guards: a process whose start time or
// executable differs from the target's is left alone.
func TestNotTheTarget(t *testing.T) {
	t.Parallel()
	a := startApp(t, copyShell(t), `sleep 600 & echo $!; wait`)
	target := targetOf(t, a.root.pid)

	reused := target
	reused.Key.Started -= time.Hour.Milliseconds()
	otherExe := target
	otherExe.Exe = "/usr/bin/zoom"
	// The child by PID, started 3 s later than it did, and no executable
	// to check: the start time alone keeps it safe.
	childLater := Target{Key: procwatch.Key{
		PID:     a.child.pid,
		Started: proctable.LinuxStartTime(mustBoot(t), uint64(a.child.ticks)).Add(3 * time.Second).UnixMilli(),
	}}

	e := New(Config{})
	defer e.Close()
	for _, tt := range []struct {
		name   string
		target Target
		want   string
	}{
		{"PID reused", reused, "PID was reused"},
		{"another executable", otherExe, "runs " + target.Exe + ", not /usr/bin/zoom"},
		{"another start, no executable given", childLater, "PID was reused"},
	} {
		results := make(chan Result, 1)
		e.Schedule(tt.target, 0, func(r Result) { results <- r })
		r := await(t, results)
		if !errors.Is(r.Err, ErrNotTarget) || !strings.Contains(r.Err.Error(), tt.want) {
			t.Errorf("%s: Result.Err = %v, want ErrNotTarget saying %q", tt.name, r.Err, tt.want)
		}
		if len(r.Killed) != 0 {
			t.Errorf("%s: Result.Killed = %v, want none", tt.name, r.Killed)
		}
		if !a.root.running(t) || !a.child.running(t) {
			t.Fatalf("%s: the process was touched", tt.name)
		}
	}
}

func mustBoot(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	boot, err := proctable.ParseBootTime(b)
	if err != nil {
		t.Fatal(err)
	}
	return boot
}

func TestTargetExited(t *testing.T) {
	t.Parallel()
	a := startApp(t, copyShell(t), `sleep 600 & echo $!; wait`)
	target := targetOf(t, a.root.pid)
	syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	a.cmd.Wait()

	e := New(Config{})
	defer e.Close()
	results := make(chan Result, 1)
	e.Schedule(target, 0, func(r Result) { results <- r })
	if r := await(t, results); !errors.Is(r.Err, ErrExited) || len(r.Killed) != 0 {
		t.Errorf("Result = %+v, want ErrExited and nothing killed", r)
	}
}

func TestBlockWithoutPidfd(t *testing.T) {
	t.Parallel()
	exe := copyShell(t)
	forbidden := startApp(t, exe, `sleep 600 & echo $!; wait`)
	sibling := startApp(t, exe, `sleep 600 & echo $!; wait`)
	target := targetOf(t, forbidden.root.pid)

	e := New(Config{})
	defer e.Close()
	e.sys.tab = proctable.New(proctable.Config{NoPidfd: true})
	results := make(chan Result, 1)
	e.Schedule(target, 0, func(r Result) { results <- r })
	r := await(t, results)
	if r.Err != nil {
		t.Fatalf("Result.Err = %v", r.Err)
	}
	if want := []int32{forbidden.root.pid, forbidden.child.pid}; !slices.Equal(r.Killed, want) {
		t.Errorf("Result.Killed = %v, want %v", r.Killed, want)
	}
	if sig := forbidden.exitSignal(t); sig != syscall.SIGTERM {
		t.Errorf("the app's shell died of %v, want SIGTERM", sig)
	}
	if forbidden.child.running(t) {
		t.Errorf("the app's child %d still runs", forbidden.child.pid)
	}
	if !sibling.root.running(t) || !sibling.child.running(t) {
		t.Error("the sibling app was touched")
	}
}

// TestBlockCatchesRespawnedChild closes an app that survives SIGTERM and
// starts its worker again: the new worker is found and killed too.
func TestBlockCatchesRespawnedChild(t *testing.T) {
	t.Parallel()
	a := startApp(t, copyShell(t), `trap ":" TERM; while :; do sleep 600 & echo $!; wait; done`)
	target := targetOf(t, a.root.pid)

	e := New(Config{KillAfter: time.Second})
	defer e.Close()
	results := make(chan Result, 1)
	e.Schedule(target, 0, func(r Result) { results <- r })
	r := await(t, results)
	if r.Err != nil {
		t.Fatalf("Result.Err = %v", r.Err)
	}
	if sig := a.exitSignal(t); sig != syscall.SIGKILL {
		t.Errorf("the app's shell died of %v, want SIGKILL", sig)
	}
	line, ok := <-a.lines
	if !ok {
		t.Fatal("the app did not start its worker again")
	}
	respawned, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("worker PID %q: %v", line, err)
	}
	if want := []int32{a.root.pid, a.child.pid, int32(respawned)}; !slices.Equal(r.Killed, want) {
		t.Errorf("Result.Killed = %v, want %v (root, child, respawned child)", r.Killed, want)
	}
	if st, err := readStat(int32(respawned)); err == nil && !st.exited() {
		t.Errorf("the respawned worker %d still runs", respawned)
	}
}

// testStat is what the tests read of /proc/PID/stat, zombies included.
type testStat struct {
	State      byte
	StartTicks int64
}

func (s testStat) exited() bool { return proctable.Stat{State: s.State}.Exited() }

func readStat(pid int32) (testStat, error) {
	b, err := os.ReadFile(proctable.ProcPath(pid, "stat"))
	if err != nil {
		return testStat{}, err
	}
	st, err := proctable.ParseStat(b)
	return testStat{State: st.State, StartTicks: int64(st.StartTicks)}, err
}
