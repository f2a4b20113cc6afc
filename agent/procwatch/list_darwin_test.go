package procwatch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// exitedPID runs a child (this test binary, running no test) to its end
// and returns its PID, which then belongs to no process.
func exitedPID(t *testing.T) int32 {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run %s: %v", self, err)
	}
	return int32(cmd.Process.Pid)
}

func TestListProcsFindsSelf(t *testing.T) {
	t.Parallel()
	entries, err := listProcs()
	if err != nil {
		t.Fatalf("listProcs: %v", err)
	}
	self := int32(os.Getpid())
	var me *osEntry
	for i, e := range entries {
		if e.PID <= 0 {
			t.Errorf("listProcs lists PID %d: %+v", e.PID, e)
		}
		if e.PID == self {
			me = &entries[i]
		}
	}
	if me == nil {
		t.Fatalf("listProcs did not list this process (%d) among %d", self, len(entries))
	}
	if me.PPID != int32(os.Getppid()) {
		t.Errorf("PPID = %d, want %d", me.PPID, os.Getppid())
	}
	exe, _ := os.Executable()
	want := filepath.Base(exe)
	if len(want) > 16 { // p_comm holds MAXCOMLEN bytes
		want = want[:16]
	}
	if me.Name != want {
		t.Errorf("Name = %q, want %q", me.Name, want)
	}
	if me.Started.IsZero() || me.Started.After(time.Now()) || time.Since(me.Started) > time.Hour {
		t.Errorf("Started = %v, want shortly before %v", me.Started, time.Now())
	}
	st, err := startTime(self)
	if err != nil {
		t.Fatalf("startTime: %v", err)
	}
	if !st.Equal(me.Started) {
		t.Errorf("startTime = %v, listProcs said %v", st, me.Started)
	}
}

func TestExePathSelf(t *testing.T) {
	t.Parallel()
	want, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := exePath(int32(os.Getpid()))
	if err != nil {
		t.Fatalf("exePath: %v", err)
	}
	if got != want {
		// os.Executable keeps the path as given to exec, like the kernel,
		// but compare resolved paths in case either went through a link.
		g, _ := filepath.EvalSymlinks(got)
		w, _ := filepath.EvalSymlinks(want)
		if g != w {
			t.Errorf("exePath = %q, want %q", got, want)
		}
	}
}

func TestExitedProcessIsNotExist(t *testing.T) {
	t.Parallel()
	pid := exitedPID(t)
	if _, err := exePath(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exePath(exited %d) = %v, want os.ErrNotExist", pid, err)
	}
	if _, err := startTime(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("startTime(exited %d) = %v, want os.ErrNotExist", pid, err)
	}
}

func TestExePathOtherUser(t *testing.T) {
	t.Parallel()
	// launchd (PID 1) runs as root.
	got, err := exePath(1)
	if os.Geteuid() == 0 {
		if err != nil || got != "/sbin/launchd" {
			t.Errorf("exePath(1) as root = %q, %v; want /sbin/launchd", got, err)
		}
		return
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("exePath(1) as uid %d = %q, %v; want os.ErrPermission", os.Geteuid(), got, err)
	}
}
