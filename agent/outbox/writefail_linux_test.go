package outbox_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vcguard/vcguard/agent/outbox"
)

// writeFailChildEnv names the outbox directory to a re-executed test binary
// whose file size limit makes one append fail half-way.
const writeFailChildEnv = "VCGUARD_OUTBOX_WRITEFAIL_CHILD"

// writeFailChild appends three events, lowers RLIMIT_FSIZE so that the next
// record is written only in part (the kernel writes up to the limit, then
// fails with EFBIG; Go ignores SIGXFSZ), lifts the limit and appends two
// more. The file size limit is per process, hence the child.
func writeFailChild(dir string) {
	fail := func(format string, args ...any) {
		fmt.Printf("error "+format+"\n", args...)
		os.Exit(3)
	}
	o, err := outbox.Open(dir, 0)
	if err != nil {
		fail("%v", err)
	}
	for _, l := range []string{"a", "b", "c"} {
		if err := o.Append(event(l)); err != nil {
			fail("append %s: %v", l, err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, logName))
	if err != nil {
		fail("%v", err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		fail("getrlimit: %v", err)
	}
	limited := syscall.Rlimit{Cur: uint64(fi.Size()) + 11, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		fail("setrlimit: %v", err)
	}
	err = o.Append(event("lost"))
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		fail("setrlimit: %v", err)
	}
	if err == nil {
		fail("append over the file size limit succeeded")
	}
	fmt.Println("append failed:", err)
	for _, l := range []string{"d", "e"} {
		if err := o.Append(event(l)); err != nil {
			fail("append %s: %v", l, err)
		}
	}
	if err := o.Close(); err != nil {
		fail("%v", err)
	}
	fmt.Println("ok")
}

// TestFailedAppendLeavesNoTornRecord: a write that fails half-way must not
// leave its partial record in the log, where it would hide every later
// record from the next Open.
func TestFailedAppendLeavesNoTornRecord(t *testing.T) {
	if dir := os.Getenv(writeFailChildEnv); dir != "" {
		writeFailChild(dir)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedAppendLeavesNoTornRecord$", "-test.count=1")
	cmd.Env = append(os.Environ(), writeFailChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nok\n") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "file too large") {
		t.Errorf("the append did not fail for the file size limit:\n%s", out)
	}

	o := open(t, dir, 0)
	wantSeqs(t, o, []uint64{1, 2, 3, 4, 5})
	var got []string
	for _, ev := range all(o) {
		got = append(got, label(ev))
	}
	if strings.Join(got, ",") != "a,b,c,d,e" {
		t.Errorf("events = %v, want a,b,c,d,e", got)
	}
}
