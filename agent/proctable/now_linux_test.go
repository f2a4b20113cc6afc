package proctable

import (
	"os/exec"
	"testing"
	"time"
)

// A process just started is a few milliseconds old on the process clock
// (Table.Now), whatever the wall clock did since boot: btime is whole
// seconds and fixed at boot, so time.Now minus the start can be off by
// seconds (1.4 s seen on a CI machine).
func TestNowIsTheStartTimesClock(t *testing.T) {
	tab := New(Config{})
	defer tab.Close()
	cmd := exec.Command("sleep", "10")
	before := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p, err := tab.Stat(int32(cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	age := tab.Now().Sub(p.Started)
	elapsed := time.Since(before) // monotonic: how long it can have run
	t.Logf("age on the process clock %v; by the wall clock %v; at most %v", age, time.Since(p.Started), elapsed)
	// Start times are in clock ticks (10 ms): one tick of rounding either
	// way.
	const tick = 10 * time.Millisecond
	if age < -tick || age > elapsed+tick {
		t.Errorf("a process that has run at most %v is %v old on the process clock", elapsed, age)
	}
	// A fake procfs has no clock of its own: the wall clock.
	if d := time.Until(New(Config{ProcRoot: t.TempDir()}).Now()); d < -time.Second || d > time.Second {
		t.Errorf("Now of a fake procfs is %v from the wall clock", d)
	}
}
