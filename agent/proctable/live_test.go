//go:build linux || darwin || windows

package proctable

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
// and returns its PID, which then belongs to no process: Wait reaped it
// and closed the last handle to it.
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

// shortName is the name the OS lists for this test binary.
func shortName(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return truncName(filepath.Base(exe))
}

func TestListFindsSelf(t *testing.T) {
	t.Parallel()
	tb := New(Config{})
	defer tb.Close()
	entries, err := tb.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	self := int32(os.Getpid())
	var me *Entry
	for i, e := range entries {
		if e.PID <= 0 {
			t.Errorf("List lists PID %d: %+v", e.PID, e)
		}
		if e.PID == self {
			me = &entries[i]
		}
	}
	if me == nil {
		t.Fatalf("List did not list this process (%d) among %d", self, len(entries))
	}
	if me.PPID != int32(os.Getppid()) {
		t.Errorf("PPID = %d, want %d", me.PPID, os.Getppid())
	}
	if !strings.EqualFold(me.Name, shortName(t)) {
		t.Errorf("Name = %q, want %q", me.Name, shortName(t))
	}
	listedStart := tb.WithStarts([]Entry{*me})
	st, err := tb.Stat(self)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st.Started.After(time.Now()) || time.Since(st.Started) > time.Hour {
		t.Errorf("Started = %v, want shortly before %v", st.Started, time.Now())
	}
	if len(listedStart) != 1 || listedStart[0].ID != st.ID {
		t.Errorf("listed with starts %+v, Stat says %+v", listedStart, st.ID)
	}
	if st.PPID != int32(os.Getppid()) || !strings.EqualFold(st.Name, shortName(t)) {
		t.Errorf("Stat = %+v, want ppid %d, name %q", st, os.Getppid(), shortName(t))
	}
	if at, err := tb.Time(st.Start); err != nil || !at.Equal(st.Started) {
		t.Errorf("Time(%d) = %v, %v; want %v", st.Start, at, err, st.Started)
	}
	again, err := tb.StartOf(self)
	if err != nil || again != st.ID {
		t.Errorf("StartOf = %+v, %v; Stat said %+v", again, err, st.ID)
	}
	if ppid, err := tb.Parent(self); err != nil || ppid != int32(os.Getppid()) {
		t.Errorf("Parent = %d, %v; want %d", ppid, err, os.Getppid())
	}
	comm, err := tb.AppendComm([]byte("x:"), self)
	if err != nil || !strings.EqualFold(string(comm), "x:"+shortName(t)) {
		t.Errorf("AppendComm = %q, %v", comm, err)
	}
	pids, err := tb.AppendPIDs(nil)
	if err != nil || !contains(pids, self) {
		t.Errorf("AppendPIDs: %v; self listed: %v", err, contains(pids, self))
	}
}

func contains(pids []int32, pid int32) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

func TestExeSelf(t *testing.T) {
	t.Parallel()
	want, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(Config{}).Exe(int32(os.Getpid()))
	if err != nil {
		t.Fatalf("Exe: %v", err)
	}
	if !sameFile(got, want) {
		t.Errorf("Exe = %q, want %q", got, want)
	}
}

// sameFile compares paths without regard to case (Windows) and through
// links (os.Executable keeps the path as given to exec, like macOS).
func sameFile(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ra, _ := filepath.EvalSymlinks(a)
	rb, _ := filepath.EvalSymlinks(b)
	return ra != "" && ra == rb
}

func TestOwnerSelf(t *testing.T) {
	t.Parallel()
	o, err := New(Config{}).Owner(int32(os.Getpid()))
	if err != nil {
		t.Fatalf("Owner: %v", err)
	}
	checkOwnerSelf(t, o)
}

func TestExitedProcessIsNotExist(t *testing.T) {
	t.Parallel()
	tb := New(Config{})
	pid := exitedPID(t)
	if _, err := tb.Exe(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Exe(exited %d) = %v, want os.ErrNotExist", pid, err)
	}
	if _, err := tb.StartOf(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("StartOf(exited %d) = %v, want os.ErrNotExist", pid, err)
	}
	if _, err := tb.Stat(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(exited %d) = %v, want os.ErrNotExist", pid, err)
	}
	if _, err := tb.OpenPID(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenPID(exited %d) = %v, want os.ErrNotExist", pid, err)
	}
}

// A process is opened and ended by its identity only: the same PID with
// another start time is another process, and is left alone.
func TestOpenByIdentity(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperSleep$")
	cmd.Env = append(os.Environ(), "PROCTABLE_HELPER_SLEEP=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	tb := New(Config{})
	pid := int32(cmd.Process.Pid)
	id, err := tb.StartOf(pid)
	if err != nil {
		t.Fatalf("StartOf: %v", err)
	}
	if _, err := tb.Open(ID{PID: pid, Start: id.Start - 1}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open with another start time = %v, want os.ErrNotExist", err)
	}
	h, err := tb.Open(id)
	if err != nil {
		t.Fatalf("Open(%+v): %v", id, err)
	}
	defer h.Close()
	if h.ID() != id || !h.Alive() {
		t.Errorf("handle %+v alive %v, want %+v alive", h.ID(), h.Alive(), id)
	}
	if exe, err := h.Exe(); err != nil || !sameFile(exe, self) {
		t.Errorf("handle Exe = %q, %v; want %q", exe, err, self)
	}
	if err := h.Signal(sigKill); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the helper did not exit after the signal")
	}
	if left := tb.Wait([]*Handle{h}, 5*time.Second); len(left) != 0 {
		t.Errorf("Wait left %d", len(left))
	}
	if h.Alive() {
		t.Error("Alive after exit")
	}
	if err := h.Signal(sigKill); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Signal after exit = %v, want os.ErrNotExist", err)
	}
}

func TestHelperSleep(t *testing.T) {
	if os.Getenv("PROCTABLE_HELPER_SLEEP") == "" {
		t.Skip("helper process")
	}
	time.Sleep(time.Minute)
}
