package procwatch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exitedPID runs a child (this test binary, running no test) to its end
// and returns its PID, which then belongs to no process: Wait closed the
// last handle to it.
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
		if e.PID == 0 {
			t.Errorf("listProcs lists the idle process: %+v", e)
		}
		if !e.Started.IsZero() {
			t.Errorf("listProcs set a start time for %+v; the snapshot has none", e)
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
	if !strings.EqualFold(me.Name, filepath.Base(exe)) {
		t.Errorf("Name = %q, want %q", me.Name, filepath.Base(exe))
	}
	st, err := startTime(self)
	if err != nil {
		t.Fatalf("startTime: %v", err)
	}
	if st.After(time.Now()) || time.Since(st) > time.Hour {
		t.Errorf("startTime = %v, want shortly before %v", st, time.Now())
	}
	again, err := startTime(self)
	if err != nil || !again.Equal(st) {
		t.Errorf("startTime again = %v, %v; was %v", again, err, st)
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
	// Windows paths compare without regard to case.
	if !strings.EqualFold(got, want) {
		t.Errorf("exePath = %q, want %q", got, want)
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
