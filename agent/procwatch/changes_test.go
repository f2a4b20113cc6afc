package procwatch

import (
	"testing"
	"time"
)

// A process that starts and exits within one report (an exec and an exit
// in one batch of events, a launcher handing over) is reported neither as
// started nor as exited; one updated in place is the same process.
func TestChangesWithinOneReport(t *testing.T) {
	t.Parallel()
	w := New(Config{})
	p := Process{PID: 42, Started: time.Unix(100, 0), Name: "firefox", Exe: "/usr/lib/firefox/firefox"}
	var ch Changes
	w.started(&ch, p)
	w.exited(&ch, p.PID)
	if !ch.Empty() || len(w.tracked) != 0 {
		t.Errorf("start and exit in one report = %+v, tracked %v; want nothing", ch, w.tracked)
	}

	// Known before: its exit is reported.
	ch = Changes{}
	w.started(&ch, p)
	ch = Changes{}
	w.exited(&ch, p.PID)
	if len(ch.Exited) != 1 || len(ch.Started) != 0 {
		t.Errorf("exit of a known process = %+v", ch)
	}

	// Replaced on disk while running: not a new process.
	ch = Changes{}
	w.started(&ch, p)
	ch = Changes{}
	q := p
	q.Exe += " (deleted)"
	w.started(&ch, q)
	if !ch.Empty() {
		t.Errorf("the same process with its binary replaced = %+v; want no change", ch)
	}
	found := map[int32]Process{q.PID: q}
	if ch := w.replace(found); len(ch.Exited) != 0 {
		t.Errorf("rescan after an update in place reports an exit: %+v", ch)
	}
}
