//go:build unix

package machinelock

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
	"time"
)

// A second process waits while the first holds the lock, and gets it
// once the first lets go.
func TestLockExcludesAnotherProcess(t *testing.T) {
	if os.Getenv("MACHINELOCK_CHILD") == "1" {
		os.Stdout.WriteString("trying\n")
		Lock(t, "selftest")
		os.Stdout.WriteString("locked\n")
		return
	}
	release, err := acquire("selftest")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockExcludesAnotherProcess$")
	cmd.Env = append(os.Environ(), "MACHINELOCK_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "trying" {
		t.Fatalf("child said %q first", l)
	}
	// While the parent holds the lock the child must not get it. (This
	// can only pass wrongly on a very slow machine, never fail wrongly.)
	select {
	case l := <-lines:
		if l == "locked" {
			t.Fatal("the child took the lock the parent holds")
		}
	case <-time.After(200 * time.Millisecond):
	}
	release()
	for l := range lines {
		if l == "locked" {
			cmd.Wait()
			return
		}
	}
	t.Fatalf("the child never took the released lock: %v", cmd.Wait())
}
