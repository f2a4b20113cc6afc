package outbox_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/agent/outbox"
)

// crashChildEnv names the outbox directory to a re-executed test binary that
// should act as the crashing agent.
const crashChildEnv = "VCGUARD_OUTBOX_CRASH_CHILD"

// crashChild appends events forever, acknowledging some now and then, and
// prints "seq N" after each Append and "ack N" after each Ack returned, until
// the parent kills it.
func crashChild(dir string) {
	o, err := outbox.Open(dir, 0)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		ev := event("n" + strconv.Itoa(i))
		if err := o.Append(ev); err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(3)
		}
		fmt.Fprintln(w, "seq", ev.GetSeq(), label(ev))
		w.Flush()
		// Acknowledge now and then, everything every 40th time so that the
		// log is compacted and some kills land in a compaction.
		if i%20 == 19 {
			seq := ev.GetSeq()
			if i%40 == 19 {
				seq -= 5
			}
			if err := o.Ack(seq); err != nil {
				fmt.Fprintln(w, "error", err)
				w.Flush()
				os.Exit(3)
			}
			fmt.Fprintln(w, "ack", seq)
			w.Flush()
		}
	}
}

// TestCrashKeepsEveryAppendedEvent kills a process that appends as fast as
// it can (SIGKILL on Unix: no deferred code, no flush) and checks that every
// event whose Append returned is still there, in order, and that numbering
// never goes back, over several crash-and-restart rounds on the same spool.
func TestCrashKeepsEveryAppendedEvent(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var acked, lastSeq uint64
	labels := map[uint64]string{} // printed, not yet known acknowledged
	for round := range 6 {
		killAfter := 30 + rng.IntN(120) // lines of output
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsEveryAppendedEvent$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		lines := 0
		// take records one line of the child's output; after the kill,
		// the lines it printed but the parent had not read yet still count
		// (the pipe holds them), so drained is set and EOF ends the round.
		drained := false
		for lines < killAfter || drained {
			line, err := r.ReadString('\n')
			if err == io.EOF && drained {
				break
			}
			if err == io.EOF {
				t.Fatalf("round %d: child ended after %d lines: %q", round, lines, line)
			}
			if err != nil {
				t.Fatal(err)
			}
			fields := strings.Fields(line)
			switch {
			case len(fields) == 3 && fields[0] == "seq":
				seq, _ := strconv.ParseUint(fields[1], 10, 64)
				if seq <= lastSeq {
					t.Fatalf("round %d: Append returned seq %d after %d", round, seq, lastSeq)
				}
				lastSeq = seq
				labels[seq] = fields[2]
			case len(fields) == 2 && fields[0] == "ack":
				acked, _ = strconv.ParseUint(fields[1], 10, 64)
				for seq := range labels {
					if seq <= acked {
						delete(labels, seq)
					}
				}
			default:
				t.Fatalf("round %d: child said %q", round, line)
			}
			lines++
			if lines == killAfter && !drained {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				drained = true
			}
		}
		cmd.Wait() // "signal: killed"
		t.Logf("round %d: killed after %d lines; last seq %d, acked %d", round, lines, lastSeq, acked)

		o, err := outbox.Open(dir, 0)
		if err != nil {
			t.Fatalf("round %d: Open after the crash: %v", round, err)
		}
		st := o.Stats()
		if st.Acked < acked {
			t.Errorf("round %d: acked mark %d went back below the acknowledged %d", round, st.Acked, acked)
		}
		if st.Next <= lastSeq {
			t.Errorf("round %d: next sequence number %d would reuse %d", round, st.Next, lastSeq)
		}
		pending := all(o)
		got := map[uint64]string{}
		var prev uint64
		for _, ev := range pending {
			if ev.GetSeq() <= prev {
				t.Fatalf("round %d: pending out of order: %d after %d", round, ev.GetSeq(), prev)
			}
			prev = ev.GetSeq()
			got[ev.GetSeq()] = label(ev)
		}
		for seq, l := range labels {
			if seq <= st.Acked {
				continue // acknowledged just before the kill; that is fine
			}
			if got[seq] != l {
				t.Errorf("round %d: event %d (%s) was appended and is gone (have %q)", round, seq, l, got[seq])
			}
		}
		// At most the one append the kill interrupted is there unprinted.
		if extra := len(got) - countAbove(labels, st.Acked); extra > 1 {
			t.Errorf("round %d: %d more events than were appended", round, extra)
		}
		// What survived is the starting point of the next round.
		lastSeq = max(lastSeq, prev)
		acked = max(acked, st.Acked)
		labels = got
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if t.Failed() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			fi, _ := os.Stat(filepath.Join(dir, e.Name()))
			t.Logf("left: %s %d bytes", e.Name(), fi.Size())
		}
	}
}

func countAbove(m map[uint64]string, seq uint64) int {
	n := 0
	for s := range m {
		if s > seq {
			n++
		}
	}
	return n
}
