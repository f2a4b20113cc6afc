package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size (e.g. "8m") on dir (created) and
// unmounts it when the test ends (after the processes on it stopped:
// cleanups run last in, first out).
func smallDisk(t *testing.T, dir, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs to fill needs root (CI runs as root)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file on dir's file system until it is full, and returns
// the function that frees the space again.
func fill(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			break
		}
	}
	// The last few bytes too, so that no small write fits.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("free %s: %v", dir, err)
		}
	}
}

// waitLog waits until the log at path contains every one of the parts on
// one line.
func waitLog(t *testing.T, path string, timeout time.Duration, what string, parts ...string) []byte {
	t.Helper()
	var line []byte
	waitFor(t, timeout, what, func() bool {
		data, _ := os.ReadFile(path)
		for l := range bytes.SplitSeq(data, []byte("\n")) {
			ok := true
			for _, p := range parts {
				ok = ok && bytes.Contains(l, []byte(p))
			}
			if ok {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// TestFaultDiskFull: the agent's state directory and the server's data
// directory each sit on a small tmpfs, which is filled while events flow.
// The agent's log names the outbox file it could not write and why, the
// server's log says the database could not store events; nothing is
// corrupted, and once space is freed every event is delivered and stored
// exactly once.
func TestFaultDiskFull(t *testing.T) {
	// Not parallel: every agent sees every process of the machine, so
	// another test's churn would add events after this test's agents have
	// delivered theirs (and this churn would add to the others').
	// The disks are the data and state directories themselves, so that
	// the logs beside them (data-server.log, state-agent.log) stay
	// writable.
	root := t.TempDir()
	serverDisk := smallDisk(t, filepath.Join(root, "data"), "24m")
	agentDisk := smallDisk(t, filepath.Join(root, "agent0", "state"), "4m")
	var s *server
	for attempt := 0; ; attempt++ {
		var err error
		s, err = tryStartServer(t, serverDisk, freeAddr(t), freeAddr(t))
		if errors.Is(err, errPortTaken) && attempt < 5 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	dirs, procs := startFaultAgents(t, s, root, 1)
	if dirs[0] != agentDisk {
		t.Fatalf("agent state %s is not on the small disk %s", dirs[0], agentDisk)
	}
	c := startChurn(t, 60*time.Millisecond)
	time.Sleep(time.Second)

	// The agent's disk fills: it says where and why, and keeps what it
	// could not record for later.
	free := fill(t, agentDisk)
	line := waitLog(t, dirs[0]+"-agent.log", 30*time.Second, "the agent to report its full disk",
		"no space left on device", filepath.Join(dirs[0], "outbox"))
	t.Logf("agent: %s", line)
	time.Sleep(time.Second)
	free()
	waitDelivered(t, dirs[0], 60*time.Second)

	// The server's disk fills: storing fails, the agent keeps its events
	// and sends them again once there is room.
	free = fill(t, serverDisk)
	line = waitLog(t, s.log, 30*time.Second, "the server to report its full disk", "full", sqliteOf(s))
	t.Logf("server: %s", line)
	time.Sleep(time.Second)
	free()
	time.Sleep(time.Second)
	finish(t, c, sqliteOf(s), dirs, procs)
	select {
	case <-s.done:
		t.Errorf("the server exited on a full disk: %v", s.err)
	default:
	}
	s.stop(t)
	if got := integrityCheck(t, sqliteOf(s)); got != "ok" {
		t.Errorf("database integrity check after the full disk: %s", got)
	}
}
