//go:build darwin || windows

package procwatch

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPollReportsLaterProcesses runs the real poller: a process started
// after the first scan is reported as started by the next poll, and as
// exited once it is gone. (Found by the Windows lane: a process first seen
// by a poll was counted as gone in the same poll, so nothing started after
// the agent was ever reported.)
func TestPollReportsLaterProcesses(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := "vcguardpolltest" + filepath.Ext(self)
	exe := filepath.Join(t.TempDir(), name)
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	w := New(Config{
		Filter:       func(n string) bool { return strings.EqualFold(n, name) },
		PollInterval: time.Hour, // polled by hand below
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx := context.Background()
	if ch, err := w.Scan(ctx); err != nil || len(ch.Started) != 0 {
		t.Fatalf("first scan: %+v, %v; want nothing", ch, err)
	}
	// The copy of this test binary runs a test that waits for stdin to close.
	cmd := exec.Command(exe, "-test.run=^TestHelperWaitForStdin$")
	cmd.Env = append(os.Environ(), "VCGUARD_PROCWATCH_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := int32(cmd.Process.Pid)

	var started Process
	deadline := time.Now().Add(10 * time.Second)
	for started.PID == 0 && time.Now().Before(deadline) {
		ch, err := w.Poll(ctx)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, p := range ch.Started {
			if p.PID == pid {
				started = p
			}
		}
		if len(ch.Exited) > 0 {
			t.Fatalf("poll reported %+v as exited while it runs", ch.Exited)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if started.PID == 0 {
		t.Fatalf("the process %d started after the scan was never reported", pid)
	}
	if !strings.EqualFold(started.Exe, exe) || started.Started.IsZero() {
		t.Errorf("started = %+v; want exe %s and a start time", started, exe)
	}
	// Nothing changes while it runs.
	if ch, err := w.Poll(ctx); err != nil || !ch.Empty() {
		t.Errorf("poll while it runs: %+v, %v; want no change", ch, err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	var exited bool
	for deadline := time.Now().Add(10 * time.Second); !exited && time.Now().Before(deadline); {
		ch, err := w.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ch.Exited {
			exited = exited || p.PID == pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !exited {
		t.Errorf("the process %d that ended was never reported as exited", pid)
	}
}

// TestHelperWaitForStdin is the process TestPollReportsLaterProcesses
// watches; it does nothing in a normal run.
func TestHelperWaitForStdin(t *testing.T) {
	if os.Getenv("VCGUARD_PROCWATCH_HELPER") != "1" {
		return
	}
	io.Copy(io.Discard, os.Stdin)
}
