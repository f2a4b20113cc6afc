package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/agent/outbox"
	"github.com/vcguard/vcguard/internal/wine"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The names of the files in an outbox directory; a test that damages the
// log has to know where it is.
const (
	logName   = "events.log"
	ackedName = "acked"
	dropName  = "dropped"
)

// event is an app event whose executable path carries a label, so a test can
// tell events apart after a round trip through the disk.
func event(label string) *vcguardv1.Event {
	return &vcguardv1.Event{
		Time: timestamppb.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)),
		Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{
			Kind: vcguardv1.AppEvent_KIND_STARTED,
			App:  &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom", Pid: 4242, Exe: label},
		}},
	}
}

func label(ev *vcguardv1.Event) string { return ev.GetApp().GetApp().GetExe() }

func open(t testing.TB, dir string, maxPending int) *outbox.Outbox {
	t.Helper()
	o, err := outbox.Open(dir, maxPending)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func reopen(t testing.TB, o *outbox.Outbox, dir string, maxPending int) *outbox.Outbox {
	t.Helper()
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return open(t, dir, maxPending)
}

// appendLabelled appends one event per label and returns the size of the log
// file after each append.
func appendLabelled(t testing.TB, o *outbox.Outbox, dir string, labels ...string) []int64 {
	t.Helper()
	sizes := make([]int64, 0, len(labels))
	for _, l := range labels {
		if err := o.Append(event(l)); err != nil {
			t.Fatalf("Append(%s): %v", l, err)
		}
		sizes = append(sizes, fileSize(t, filepath.Join(dir, logName)))
	}
	return sizes
}

func labels(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func all(o *outbox.Outbox) []*vcguardv1.Event { return o.Pending(0, 1<<30) }

func seqs(evs []*vcguardv1.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.GetSeq()
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func wantSeqs(t testing.TB, o *outbox.Outbox, want []uint64) {
	t.Helper()
	if got := seqs(all(o)); !slices.Equal(got, want) {
		t.Fatalf("pending sequence numbers = %v, want %v", got, want)
	}
}

func wantStats(t testing.TB, o *outbox.Outbox, want outbox.Stats) {
	t.Helper()
	if got := o.Stats(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
}

func TestAppendPendingAckOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	wantStats(t, o, outbox.Stats{Next: 1})

	ev := event("a")
	if err := o.Append(ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetSeq() != 1 {
		t.Errorf("Append set Seq = %d on the caller's event, want 1", ev.GetSeq())
	}
	appendLabelled(t, o, dir, "b", "c", "d", "e")

	got := all(o)
	if !slices.Equal(seqs(got), []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("pending = %v, want 1..5", seqs(got))
	}
	for i, ev := range got {
		if want := string(rune('a' + i)); label(ev) != want {
			t.Errorf("event %d carries %q, want %q", ev.GetSeq(), label(ev), want)
		}
	}

	for _, tc := range []struct {
		after uint64
		max   int
		want  []uint64
	}{
		{0, 2, []uint64{1, 2}},
		{2, 2, []uint64{3, 4}},
		{4, 10, []uint64{5}},
		{5, 10, nil},
		{0, 0, nil},
	} {
		if got := seqs(o.Pending(tc.after, tc.max)); !slices.Equal(got, tc.want) {
			t.Errorf("Pending(%d, %d) = %v, want %v", tc.after, tc.max, got, tc.want)
		}
	}

	if err := o.Ack(2); err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, o, []uint64{3, 4, 5})
	wantStats(t, o, outbox.Stats{Pending: 3, Acked: 2, Next: 6})

	// An older or repeated acknowledgement changes nothing.
	for _, seq := range []uint64{0, 1, 2} {
		if err := o.Ack(seq); err != nil {
			t.Fatalf("Ack(%d): %v", seq, err)
		}
	}
	wantStats(t, o, outbox.Stats{Pending: 3, Acked: 2, Next: 6})

	// Acknowledged events stay gone after a restart, pending ones come back.
	o = reopen(t, o, dir, 0)
	wantSeqs(t, o, []uint64{3, 4, 5})
	wantStats(t, o, outbox.Stats{Pending: 3, Acked: 2, Next: 6})
	if got := label(all(o)[0]); got != "c" {
		t.Errorf("after reopen event 3 carries %q, want c", got)
	}
}

func TestAppendKeepsItsOwnCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	ev := event("original")
	if err := o.Append(ev); err != nil {
		t.Fatal(err)
	}
	// The agent keeps using the instances it records; changing them must
	// not change what is pending (nor race with the uplink reading it).
	ev.GetApp().GetApp().Exe = "changed"
	ev.GetApp().GetApp().Verdict = vcguardv1.Verdict_VERDICT_FORBIDDEN
	got := all(o)[0]
	if label(got) != "original" || got.GetApp().GetApp().GetVerdict() != vcguardv1.Verdict_VERDICT_UNSPECIFIED {
		t.Errorf("pending event changed with the caller's: %v", got)
	}
}

func TestSequenceNumbersSurviveReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	appendLabelled(t, o, dir, "a", "b", "c")
	o = reopen(t, o, dir, 0)
	wantStats(t, o, outbox.Stats{Pending: 3, Next: 4})
	appendLabelled(t, o, dir, "d")
	wantSeqs(t, o, []uint64{1, 2, 3, 4})

	// Everything acknowledged: the log is compacted to nothing, but the
	// numbering must carry on where it was, not restart at 1 (the server
	// would take new events for ones it already has).
	if err := o.Ack(4); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(t, filepath.Join(dir, logName)); size != 0 {
		t.Errorf("log holds %d bytes after every event was acknowledged, want 0", size)
	}
	for range 2 {
		o = reopen(t, o, dir, 0)
		wantStats(t, o, outbox.Stats{Acked: 4, Next: 5})
	}
	appendLabelled(t, o, dir, "e")
	wantSeqs(t, o, []uint64{5})
	o = reopen(t, o, dir, 0)
	wantSeqs(t, o, []uint64{5})
	wantStats(t, o, outbox.Stats{Pending: 1, Acked: 4, Next: 6})
}

func TestAckBeyondNextMovesNumberingOn(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	appendLabelled(t, o, dir, "a", "b", "c")
	// The server has stored more than this spool ever wrote (the state
	// directory was restored from an old backup): number after the server.
	if err := o.Ack(10); err != nil {
		t.Fatal(err)
	}
	wantStats(t, o, outbox.Stats{Acked: 10, Next: 11})
	wantSeqs(t, o, nil)
	appendLabelled(t, o, dir, "d")
	wantSeqs(t, o, []uint64{11})

	o = reopen(t, o, dir, 0)
	wantSeqs(t, o, []uint64{11})
	wantStats(t, o, outbox.Stats{Pending: 1, Acked: 10, Next: 12})
}

func TestAckOutOfRangeIsRefused(t *testing.T) {
	t.Parallel()
	o := open(t, t.TempDir(), 0)
	if err := o.Ack(1 << 63); err == nil {
		t.Fatal("Ack(1<<63) succeeded; sequence numbers would wrap around")
	}
	wantStats(t, o, outbox.Stats{Next: 1})
}

func TestMaxPendingDropsOldest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 3)
	appendLabelled(t, o, dir, labels("e", 5)...)
	wantSeqs(t, o, []uint64{3, 4, 5})
	at := event("").GetTime().AsTime()
	drops := func(n uint64) []outbox.DropCount {
		return []outbox.DropCount{{Type: "app_started", Count: n, Oldest: at, Newest: at}}
	}
	wantStats(t, o, outbox.Stats{Pending: 3, Next: 6, Dropped: 2, Unreported: 2, Drops: drops(2)})
	if got := label(all(o)[0]); got != "e3" {
		t.Errorf("oldest kept event carries %q, want e3", got)
	}

	// The drops are persisted, so the dropped events do not come back after
	// a restart, and their counts stay.
	o = reopen(t, o, dir, 3)
	wantSeqs(t, o, []uint64{3, 4, 5})
	wantStats(t, o, outbox.Stats{Pending: 3, Next: 6, Dropped: 2, Unreported: 2, Drops: drops(2)})

	// A smaller limit at open does not drop anything by itself; the next
	// append does.
	o = reopen(t, o, dir, 2)
	appendLabelled(t, o, dir, "e6")
	wantSeqs(t, o, []uint64{5, 6})
	wantStats(t, o, outbox.Stats{Pending: 2, Next: 7, Dropped: 4, Unreported: 4, Drops: drops(4)})
}

// tornCase damages a log of five records; sizes holds the log size after each
// record, so sizes[i-1] is where record i ends.
type tornCase struct {
	name   string
	damage func(t *testing.T, path string, sizes []int64)
	// keep is how many records survive.
	keep int
}

func TestTornTailIsDiscarded(t *testing.T) {
	t.Parallel()
	truncateTo := func(off func(sizes []int64) int64) func(*testing.T, string, []int64) {
		return func(t *testing.T, path string, sizes []int64) {
			if err := os.Truncate(path, off(sizes)); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendBytes := func(b []byte) func(*testing.T, string, []int64) {
		return func(t *testing.T, path string, _ []int64) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	flipByte := func(off func(sizes []int64) int64) func(*testing.T, string, []int64) {
		return func(t *testing.T, path string, sizes []int64) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[off(sizes)] ^= 0x5a
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []tornCase{
		{"cut in the last payload", truncateTo(func(s []int64) int64 { return s[4] - 3 }), 4},
		{"cut in the last header", truncateTo(func(s []int64) int64 { return s[3] + 5 }), 4},
		{"cut after the last header", truncateTo(func(s []int64) int64 { return s[3] + 8 }), 4},
		{"garbage appended", appendBytes([]byte("\x13\x37garbage after the last record")), 5},
		{"zero bytes appended", appendBytes(make([]byte, 64)), 5},
		{"huge length appended", appendBytes([]byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5}), 5},
		{"length without payload appended", appendBytes([]byte{100, 0, 0, 0, 1, 2, 3, 4}), 5},
		{"flipped byte in the last payload", flipByte(func(s []int64) int64 { return s[4] - 2 }), 4},
		{"flipped byte in the last checksum", flipByte(func(s []int64) int64 { return s[3] + 5 }), 4},
		{"flipped byte in the last length", flipByte(func(s []int64) int64 { return s[3] }), 4},
		// A damaged record in the middle makes every record after it
		// untrustworthy: the log keeps what precedes it.
		{"flipped byte in the third payload", flipByte(func(s []int64) int64 { return s[2] - 1 }), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, logName)
			o := open(t, dir, 0)
			sizes := appendLabelled(t, o, dir, labels("e", 5)...)
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path, sizes)

			o = open(t, dir, 0)
			wantSeqs(t, o, seqRange(1, uint64(tc.keep)))
			wantStats(t, o, outbox.Stats{Pending: tc.keep, Next: uint64(tc.keep) + 1})
			if size := fileSize(t, path); size != sizes[tc.keep-1] {
				t.Errorf("log is %d bytes after Open, want the %d bytes of the good records", size, sizes[tc.keep-1])
			}

			// New records follow the last good one, and survive the next Open.
			appendLabelled(t, o, dir, "new")
			o = reopen(t, o, dir, 0)
			want := append(seqRange(1, uint64(tc.keep)), uint64(tc.keep)+1)
			wantSeqs(t, o, want)
			if got := label(all(o)[tc.keep]); got != "new" {
				t.Errorf("record %d carries %q, want new", tc.keep+1, got)
			}
		})
	}
}

// A log written by an old agent or restored from elsewhere might hold records
// that do not follow each other; what follows the first such record is
// dropped rather than delivered out of order.
func TestRecordsOutOfOrderEndTheLog(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	oa := open(t, a, 0)
	appendLabelled(t, oa, a, "a1", "a2", "a3")
	ob := open(t, b, 0)
	appendLabelled(t, ob, b, "b1", "b2")
	oa.Close()
	ob.Close()
	first, err := os.ReadFile(filepath.Join(a, logName))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(b, logName))
	if err != nil {
		t.Fatal(err)
	}
	// Records 1, 2, 3 then 1, 2 again.
	if err := os.WriteFile(filepath.Join(a, logName), append(first, second...), 0o600); err != nil {
		t.Fatal(err)
	}
	o := open(t, a, 0)
	wantSeqs(t, o, []uint64{1, 2, 3})
	wantStats(t, o, outbox.Stats{Pending: 3, Next: 4})
	if size := fileSize(t, filepath.Join(a, logName)); size != int64(len(first)) {
		t.Errorf("log is %d bytes, want %d", size, len(first))
	}
}

func TestCorruptAckedFileIsAnError(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "x", "-1", "12 13", "18446744073709551616", "9223372036854775808", "18446744073709551615"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ackedName), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := outbox.Open(dir, 0)
		if err == nil {
			o.Close()
			t.Errorf("Open with acked file %q succeeded, want an error", content)
			continue
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, ackedName)) {
			t.Errorf("Open with acked file %q: error %q does not name the file", content, err)
		}
		if _, err := outbox.Inspect(dir); err == nil {
			t.Errorf("Inspect with acked file %q succeeded, want an error", content)
		}
	}
	// Surrounding white space is fine (someone edited it by hand).
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ackedName), []byte(" 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantStats(t, open(t, dir, 0), outbox.Stats{Acked: 7, Next: 8})
}

func TestOversizedEventIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	appendLabelled(t, o, dir, "before")
	big := event(strings.Repeat("x", 1<<20+1))
	if err := o.Append(big); err == nil {
		t.Fatal("Append of an event over the record limit succeeded; Open would drop it and every later event")
	}
	appendLabelled(t, o, dir, "after")
	o = reopen(t, o, dir, 0)
	wantSeqs(t, o, []uint64{1, 2})
	if got := label(all(o)[1]); got != "after" {
		t.Errorf("record 2 carries %q, want after", got)
	}
}

func TestCompactionKeepsOnlyPending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, logName)
	o := open(t, dir, 0)
	sizes := appendLabelled(t, o, dir, labels("e", 30)...)
	// Acknowledging all but the last five, then everything: the log first
	// holds exactly the five pending records, then nothing.
	if err := o.Ack(25); err != nil {
		t.Fatal(err)
	}
	// Too few acknowledged records to be worth a rewrite yet.
	if size := fileSize(t, path); size != sizes[29] {
		t.Errorf("log is %d bytes after acknowledging 25 of 30, want it untouched (%d)", size, sizes[29])
	}
	if err := o.Ack(30); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(t, path); size != 0 {
		t.Errorf("log is %d bytes with nothing pending, want 0", size)
	}
	appendLabelled(t, o, dir, "e31")
	o = reopen(t, o, dir, 0)
	wantSeqs(t, o, []uint64{31})
	wantStats(t, o, outbox.Stats{Pending: 1, Acked: 30, Next: 32})
}

func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	protectStateDir(t, state)
	dir := filepath.Join(state, "outbox")
	o := open(t, dir, 2)
	appendLabelled(t, o, dir, "a", "b", "c") // drops one: marks it in the drop file
	if err := o.Ack(3); err != nil {         // compacts: rewrites the log and the drop file
		t.Fatal(err)
	}
	appendLabelled(t, o, dir, "d")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != logName && e.Name() != ackedName && e.Name() != dropName {
			t.Errorf("unexpected file %s left in the outbox", e.Name())
		}
	}
	checkPrivate(t, dir, 0o700)
	checkPrivate(t, filepath.Join(dir, logName), 0o600)
	checkPrivate(t, filepath.Join(dir, ackedName), 0o600)
	checkPrivate(t, filepath.Join(dir, dropName), 0o600)
}

func TestInspectDoesNotModify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	appendLabelled(t, o, dir, labels("e", 6)...)
	if err := o.Ack(2); err != nil {
		t.Fatal(err)
	}
	// Inspect runs beside a running agent: it must agree with it.
	st, err := outbox.Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := o.Stats(); !reflect.DeepEqual(st, want) {
		t.Errorf("Inspect = %+v beside the open outbox's %+v", st, want)
	}
	o.Close()

	// A torn tail that Open would cut off stays where it is.
	f, err := os.OpenFile(filepath.Join(dir, logName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{9, 0, 0, 0, 1, 2})
	f.Close()
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = data
		}
		return m
	}
	before := snapshot()
	st, err = outbox.Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (outbox.Stats{Pending: 4, Acked: 2, Next: 7}); !reflect.DeepEqual(st, want) {
		t.Errorf("Inspect = %+v, want %+v", st, want)
	}
	after := snapshot()
	if len(before) != len(after) {
		t.Errorf("Inspect changed the files: before %d, after %d", len(before), len(after))
	}
	for name, data := range before {
		if !bytes.Equal(data, after[name]) {
			t.Errorf("Inspect changed %s", name)
		}
	}

	// A directory that does not exist reads as empty and is not created.
	missing := filepath.Join(t.TempDir(), "none")
	st, err = outbox.Inspect(missing)
	if err != nil || !reflect.DeepEqual(st, outbox.Stats{Next: 1}) {
		t.Errorf("Inspect(missing) = %+v, %v; want an empty outbox", st, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Inspect created %s", missing)
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	select {
	case <-o.Notify():
		t.Fatal("Notify fired on an empty outbox")
	default:
	}
	appendLabelled(t, o, dir, "a", "b")
	select {
	case <-o.Notify():
	default:
		t.Fatal("Notify did not fire after Append")
	}
	// Coalesced: two appends, one wake-up.
	select {
	case <-o.Notify():
		t.Fatal("Notify fired twice for one batch of appends")
	default:
	}
	// Events pending at Open are announced, so the uplink sends them.
	o = reopen(t, o, dir, 0)
	select {
	case <-o.Notify():
	default:
		t.Fatal("Notify did not fire at Open with pending events")
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, dir, 0)
	appendLabelled(t, o, dir, "a")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := o.Append(event("b")); err == nil {
		t.Error("Append after Close succeeded")
	}
	if err := o.Ack(1); err == nil {
		t.Error("Ack after Close succeeded")
	}
	// Nothing above reached the disk.
	o = open(t, dir, 0)
	wantSeqs(t, o, []uint64{1})
	wantStats(t, o, outbox.Stats{Pending: 1, Next: 2})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	// The directory is a file.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err := outbox.Open(file, 0); err == nil {
		o.Close()
		t.Error("Open on a regular file succeeded")
	}
	// The log is a directory.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, logName), 0o700); err != nil {
		t.Fatal(err)
	}
	if o, err := outbox.Open(dir, 0); err == nil {
		o.Close()
		t.Error("Open with a directory for a log succeeded")
	}
}

// BenchmarkAppend measures a durable append (write and fsync), beside the
// floor of the same write and fsync on a plain file.
func BenchmarkAppend(b *testing.B) {
	ev := event("/opt/zoom/zoom")
	b.Run("outbox", func(b *testing.B) {
		dir := b.TempDir()
		o := open(b, dir, 0)
		b.ReportAllocs()
		for b.Loop() {
			if err := o.Append(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write+fsync floor", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "floor"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		payload, err := proto.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		rec := make([]byte, 8+len(payload)+2) // the record and its sequence number
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.Write(rec); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// blockRewrite makes rewriting name fail. It returns the function that
// lets rewrites through again.
func blockRewrite(t *testing.T, o *outbox.Outbox, name string) func() {
	t.Helper()
	return outbox.FailRewrites(o, name)
}

// When the acked mark or a compaction cannot be written, the event being
// appended is stored all the same (an error would have the caller append it
// twice), and the outbox keeps working.
func TestRewriteFailures(t *testing.T) {
	t.Parallel()
	t.Run("drop mark", func(t *testing.T) {
		t.Parallel()
		if wine.Running() {
			t.Skip("Wine: Wine 8 lets a write through a read-only handle succeed, so the injected failure never happens (see TestWineWritesThroughReadOnlyHandle)")
		}
		dir := t.TempDir()
		o := open(t, dir, 2)
		appendLabelled(t, o, dir, "a", "b")
		outbox.FailDropMarks(t, o)
		if err := o.Append(event("c")); err != nil {
			t.Fatalf("Append of a stored event failed: %v", err)
		}
		wantSeqs(t, o, []uint64{2, 3})
		at := event("").GetTime().AsTime()
		wantStats(t, o, outbox.Stats{Pending: 2, Next: 4, Dropped: 1, Unreported: 1, Drops: []outbox.DropCount{{Type: "app_started", Count: 1, Oldest: at, Newest: at}}})
		appendLabelled(t, o, dir, "d")
		o = reopen(t, o, dir, 2)
		// The first drop was not written down: at least once, event 1 is
		// pending again (and not counted); the second drop holds.
		wantSeqs(t, o, []uint64{1, 3, 4})
		if st := o.Stats(); st.Dropped != 1 {
			t.Errorf("after reopen %d dropped, want 1", st.Dropped)
		}
	})
	t.Run("acked mark on Ack", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		o := open(t, dir, 0)
		appendLabelled(t, o, dir, "a", "b", "c")
		unblock := blockRewrite(t, o, ackedName)
		if err := o.Ack(2); err == nil {
			t.Error("Ack succeeded without writing the acked mark")
		}
		unblock()
		appendLabelled(t, o, dir, "d")
		o = reopen(t, o, dir, 0)
		// The acknowledgement was not stored: at least once, events 1 and 2
		// go again rather than being lost.
		wantSeqs(t, o, []uint64{1, 2, 3, 4})
	})
	t.Run("compaction", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		o := open(t, dir, 0)
		appendLabelled(t, o, dir, "a", "b")
		unblock := blockRewrite(t, o, logName)
		if err := o.Ack(2); err == nil {
			t.Error("Ack succeeded although the log could not be compacted")
		}
		appendLabelled(t, o, dir, "c")
		unblock()
		appendLabelled(t, o, dir, "d")
		o = reopen(t, o, dir, 0)
		wantSeqs(t, o, []uint64{3, 4})
		wantStats(t, o, outbox.Stats{Pending: 2, Acked: 2, Next: 5})
	})
}
