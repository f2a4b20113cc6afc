package outbox_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/vcguard/vcguard/agent/outbox"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// seedLog returns the bytes of a log holding n events of which the first
// acked are acknowledged, and the acked file's content.
func seedLog(f *testing.F, n int, acked uint64) (log, ackedFile []byte) {
	dir := f.TempDir()
	o, err := outbox.Open(dir, 0)
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range labels("seed", n) {
		if err := o.Append(event(l)); err != nil {
			f.Fatal(err)
		}
	}
	if acked > 0 {
		if err := o.Ack(acked); err != nil {
			f.Fatal(err)
		}
	}
	o.Close()
	log, err = os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		f.Fatal(err)
	}
	ackedFile, err = os.ReadFile(filepath.Join(dir, ackedName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		f.Fatal(err)
	}
	return log, ackedFile
}

// FuzzOpen feeds arbitrary bytes to Open as the log and as the acked file.
// Open must not panic; when it succeeds the outbox must work: what Inspect
// saw, in order, above the acked mark, with new events numbered after every
// old one and still there after the next Open.
func FuzzOpen(f *testing.F) {
	good, _ := seedLog(f, 4, 0)
	f.Add(good, []byte(nil), false)
	f.Add(good[:len(good)-3], []byte(nil), false)
	f.Add(append(slices.Clone(good), "garbage"...), []byte("2"), true)
	f.Add(good, []byte("2\n"), true)
	f.Add(good, []byte("9223372036854775806"), true)
	f.Add(good, []byte("18446744073709551615"), true)
	f.Add(good, []byte("x"), true)
	f.Add(append(slices.Clone(good), good...), []byte(nil), false)
	partlyAcked, ackedFile := seedLog(f, 30, 12)
	f.Add(partlyAcked, ackedFile, true)
	f.Add([]byte(nil), []byte("0"), true)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, []byte(nil), false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, []byte(nil), false)

	f.Fuzz(func(t *testing.T, log, acked []byte, writeAcked bool) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, logName), log, 0o600); err != nil {
			t.Fatal(err)
		}
		if writeAcked {
			if err := os.WriteFile(filepath.Join(dir, ackedName), acked, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		inspected, inspectErr := outbox.Inspect(dir)
		o, err := outbox.Open(dir, 0)
		if err != nil {
			if inspectErr == nil {
				t.Fatalf("Open failed (%v) where Inspect read %+v", err, inspected)
			}
			return
		}
		defer o.Close()
		if inspectErr != nil {
			t.Fatalf("Inspect failed (%v) where Open succeeded", inspectErr)
		}
		st := o.Stats()
		if !reflect.DeepEqual(st, inspected) {
			t.Fatalf("Open reads %+v, Inspect %+v", st, inspected)
		}
		// Open only ever cuts the log short.
		kept, err := os.ReadFile(filepath.Join(dir, logName))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(log, kept) {
			t.Fatalf("Open rewrote the log instead of cutting it")
		}
		pending := all(o)
		if len(pending) != st.Pending {
			t.Fatalf("Pending returns %d events, Stats says %d", len(pending), st.Pending)
		}
		prev := st.Acked
		for _, ev := range pending {
			if ev.GetSeq() <= prev {
				t.Fatalf("pending event %d follows %d (acked %d)", ev.GetSeq(), prev, st.Acked)
			}
			prev = ev.GetSeq()
		}
		if st.Next <= prev {
			t.Fatalf("next sequence number %d is not after %d", st.Next, prev)
		}

		ev := &vcguardv1.Event{Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 7}}}
		if err := o.Append(ev); err != nil {
			t.Fatalf("Append on an opened outbox: %v", err)
		}
		if ev.GetSeq() != st.Next {
			t.Fatalf("Append assigned %d, want %d", ev.GetSeq(), st.Next)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		o2, err := outbox.Open(dir, 0)
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer o2.Close()
		want := append(seqs(pending), ev.GetSeq())
		if got := seqs(all(o2)); !slices.Equal(got, want) {
			t.Fatalf("after reopen pending = %v, want %v", got, want)
		}
		if got := o2.Stats().Next; got != st.Next+1 {
			t.Fatalf("after reopen next = %d, want %d", got, st.Next+1)
		}
	})
}
