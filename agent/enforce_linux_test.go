package agent

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/enforce"
	"github.com/vcguard/vcguard/agent/proctable"
	"github.com/vcguard/vcguard/agent/procwatch"
	"github.com/vcguard/vcguard/agent/state"
)

// realShell copies /bin/sh to dir/name (outside the catalog's install
// paths, so the test identifier calls it unverified) and starts it with
// script; it returns the shell and the pid of its first child (a sleep).
func realShell(t *testing.T, dir, name, script string) (*exec.Cmd, int32) {
	t.Helper()
	exe := filepath.Join(dir, name)
	b, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The script prints its child's pid once it is ready.
	line := make([]byte, 32)
	n, err := out.Read(line)
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil {
		t.Fatalf("%s printed %q, want its child's pid", name, line[:n])
	}
	return cmd, int32(child)
}

func alive(pid int32) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return false
	}
	st, err := proctable.ParseStat(b)
	return err == nil && st.State != 'Z'
}

// With unverified look-alikes blocked, real processes: a program that
// only renamed itself zoom (its comm; its executable is "python3") is
// reported and warned about but neither it nor its child is closed; a
// look-alike whose executable is named zoom is closed with its own child.
func TestBlockActsOnlyWhenTheExecutableIsTheApp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.agent(nil)
	enf := enforce.New(enforce.Config{KillAfter: 200 * time.Millisecond})
	t.Cleanup(enf.Close)
	a.cfg.Enforcer = enf
	mustApply(t, a, f.signed(1, []byte("name: Block\napps:\n  zoom: {status: approved}\nactions: {unverified: block, block_grace: 1s}\n")))
	var seq uint64
	newEvents(t, a, &seq)

	dir := t.TempDir()
	renamed, renamedChild := realShell(t, dir, "python3", `printf zoom > /proc/$$/comm; sleep 60 & echo $!; wait`)
	lookAlike, lookAlikeChild := realShell(t, dir, "zoom", `sleep 60 & echo $!; wait`)

	w := procwatch.New(procwatch.Config{Filter: a.matcher.Interesting, NoEvents: true})
	ch, err := w.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Only the two shells of this test: the machine may run others.
	ours := ch.Started[:0]
	for _, p := range ch.Started {
		if p.PID == int32(renamed.Process.Pid) || p.PID == int32(lookAlike.Process.Pid) {
			ours = append(ours, p)
		}
	}
	if len(ours) != 2 {
		t.Fatalf("procwatch lists %+v; want both shells (the renamed one under its comm)", ours)
	}
	ch.Started = ours
	if err := a.handle(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	// The renamed shell may be a launcher about to exec zoom: it is held
	// until it has lived state.LauncherWait (Run's timer calls judgeHeld),
	// unless it is already that old when the scan comes (a loaded
	// machine), when it is judged at once.
	var renamedStarted time.Time
	for _, p := range ours {
		if p.PID == int32(renamed.Process.Pid) {
			renamedStarted = p.Started
		}
	}
	if young := time.Since(renamedStarted) < state.LauncherWait; young && a.apps.Held() != 1 {
		t.Errorf("%d processes held, want the renamed one", a.apps.Held())
	}
	if due, ok := a.apps.NextDue(); ok {
		time.Sleep(time.Until(due))
	}
	if err := a.judgeHeld(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-a.blocked:
		if b.inst.GetPid() != int32(lookAlike.Process.Pid) || b.res.Err != nil {
			t.Fatalf("closed %d (%v), want the look-alike %d", b.inst.GetPid(), b.res.Err, lookAlike.Process.Pid)
		}
		if err := a.recordBlock(b); err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the look-alike was not closed")
	}
	if alive(int32(lookAlike.Process.Pid)) || alive(lookAlikeChild) {
		t.Error("the look-alike or its child survived")
	}
	if !alive(int32(renamed.Process.Pid)) || !alive(renamedChild) {
		t.Error("the process that only renamed itself zoom, or its child, was closed")
	}
	evs := strings.Join(newEvents(t, a, &seq), "\n")
	refusal := "app_blocked zoom/" + strconv.Itoa(renamed.Process.Pid) + " killed []"
	if !strings.Contains(evs, refusal) || !strings.Contains(f.log.String(), "is not zoom's, only its process name is") {
		t.Errorf("the refusal to close the renamed process is not recorded and logged; events:\n%s", evs)
	}
}
