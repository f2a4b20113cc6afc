package outbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// These tests lower the compaction threshold of an open outbox so that they
// need tens of fsynced appends rather than thousands.

func internalEvent(i int) *vcguardv1.Event {
	return &vcguardv1.Event{Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
		App: &vcguardv1.AppInstance{AppId: "zoom", Exe: fmt.Sprintf("/opt/zoom/zoom-%d", i)},
	}}}
}

func logSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func pendingSeqs(o *Outbox) []uint64 {
	var out []uint64
	for _, ev := range o.Pending(0, 1<<30) {
		out = append(out, ev.GetSeq())
	}
	return out
}

func seqsFrom(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestCompactionAfterManyAcks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { o.Close() }()
	o.compactAfter = 20
	var sizes []int64
	for i := range 50 {
		if err := o.Append(internalEvent(i)); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, logSize(t, dir))
	}
	full := sizes[49]

	// Below the threshold the log is left alone.
	if err := o.Ack(19); err != nil {
		t.Fatal(err)
	}
	if got := logSize(t, dir); got != full {
		t.Fatalf("log is %d bytes after 19 acknowledgements, want it untouched at %d", got, full)
	}
	// At the threshold it is rewritten with exactly the pending records.
	if err := o.Ack(20); err != nil {
		t.Fatal(err)
	}
	if got, want := logSize(t, dir), full-sizes[19]; got != want {
		t.Fatalf("log is %d bytes after compaction, want %d (the 30 pending records)", got, want)
	}
	if o.inLog != 30 {
		t.Errorf("inLog = %d after compaction, want 30", o.inLog)
	}
	// Appends after a compaction go after the kept records.
	if err := o.Append(internalEvent(50)); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if o, err = Open(dir, 0); err != nil {
		t.Fatal(err)
	}
	if got := pendingSeqs(o); !slices.Equal(got, seqsFrom(21, 51)) {
		t.Fatalf("after reopen pending = %v, want 21..51", got)
	}
	if got := o.Pending(50, 1)[0].GetApp().GetApp().GetExe(); got != "/opt/zoom/zoom-50" {
		t.Errorf("record 51 carries %q", got)
	}
}

// While offline with a full spool the dropped records must not pile up in
// the log: it is rewritten once they outnumber the pending ones.
func TestDroppedRecordsAreCompacted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const maxPending = 10
	o, err := Open(dir, maxPending)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { o.Close() }()
	o.compactAfter = 15
	var one, largest int64
	for i := range 120 {
		if err := o.Append(internalEvent(i)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			one = logSize(t, dir)
		}
		largest = max(largest, logSize(t, dir))
		// Compaction keeps at most max(compactAfter, pending) dead records.
		if dead := o.inLog - len(o.pending); dead > max(o.compactAfter, maxPending) {
			t.Fatalf("after %d appends the log holds %d dropped records", i+1, dead)
		}
	}
	// Records have nearly the same size; 26 of them would mean no compaction.
	if largest > 26*(one+2) {
		t.Errorf("log grew to %d bytes for records of about %d bytes", largest, one)
	}
	if st := o.Stats(); st.Dropped != 110 || st.Acked != 0 || st.Pending != maxPending {
		t.Errorf("Stats() = %+v, want 110 dropped, %d pending", st, maxPending)
	}
	o.Close()
	if o, err = Open(dir, maxPending); err != nil {
		t.Fatal(err)
	}
	if got := pendingSeqs(o); !slices.Equal(got, seqsFrom(111, 120)) {
		t.Fatalf("after reopen pending = %v, want 111..120", got)
	}
}
