package store_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// An event dated far in the future is stored as received: it neither sits
// on top of every list for ever nor escapes retention.
func testFutureEventClamped(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	received := at(time.Hour)
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	ingest(t, s, "dev-1", received,
		policyApplied(1, year9999, 1),
		policyApplied(2, received.Add(store.MaxClockSkew-time.Second), 2), // a fast clock: kept
		policyApplied(3, at(10*time.Minute), 3))
	evs, err := s.Events(ctx, store.EventFilter{DeviceID: "dev-1"})
	if err != nil {
		t.Fatal(err)
	}
	times := map[uint64]time.Time{}
	for _, e := range evs {
		times[e.Seq] = e.Time
	}
	sameTime(t, "year-9999 event", times[1], received)
	sameTime(t, "slightly fast event", times[2], received.Add(store.MaxClockSkew-time.Second))
	sameTime(t, "past event", times[3], at(10*time.Minute))
	// Retention goes by the received time: all three go together.
	if n, err := s.PurgeEvents(ctx, received); err != nil || n != 0 {
		t.Errorf("PurgeEvents(received) = %d, %v; want 0 (strictly before)", n, err)
	}
	if n, err := s.PurgeEvents(ctx, received.Add(time.Second)); err != nil || n != 3 {
		t.Errorf("PurgeEvents after the received time = %d, %v; want 3", n, err)
	}
}

// A sequence number beyond what the store keeps is refused with the batch;
// the device's next events are still stored.
func testSequenceOutOfRange(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	ingest(t, s, "dev-1", at(time.Hour), policyApplied(1, at(time.Second), 1))
	_, err := s.IngestEvents(ctx, "dev-1", []*vcguardv1.Event{
		policyApplied(2, at(2*time.Second), 2),
		policyApplied(math.MaxUint64, at(3*time.Second), 3),
	}, at(time.Hour))
	if !errors.Is(err, store.ErrInvalidEvent) || !strings.Contains(err.Error(), "18446744073709551615") {
		t.Fatalf("IngestEvents(seq 2^64-1) = %v; want ErrInvalidEvent naming the number", err)
	}
	d, err := s.Device(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.LastSeq != 1 {
		t.Errorf("last seq after the refused batch = %d, want 1 (nothing of it stored)", d.LastSeq)
	}
	if last := ingest(t, s, "dev-1", at(time.Hour), policyApplied(2, at(2*time.Second), 2)); last != 2 {
		t.Errorf("the next honest batch: last seq %d, want 2", last)
	}
}

// A device that connects under another hostname is recorded in the audit
// log (old and new name); one that keeps its name is not.
func testHostnameChangeAudited(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "alice-laptop")
	newDevice(t, s, "dev-2", "bob-laptop")
	connect := func(id, hostname string) {
		t.Helper()
		if err := s.DeviceConnected(ctx, id, &vcguardv1.DeviceInfo{Hostname: hostname, Os: "linux"}, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	connect("dev-1", "alice-laptop")
	connect("dev-2", "alice-laptop") // takes dev-1's name
	entries, err := s.AuditLog(ctx, store.AuditFilter{Action: "device_hostname_change"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("audit entries = %+v, want one for dev-2", entries)
	}
	e := entries[0]
	if e.Actor != "device:dev-2" || e.Target != "device:dev-2" || !strings.Contains(string(e.Detail), `"from":"bob-laptop"`) || !strings.Contains(string(e.Detail), `"to":"alice-laptop"`) {
		t.Errorf("audit entry = %+v (detail %s)", e, e.Detail)
	}
	sameTime(t, "audit time", e.At, at(time.Hour))
	if err := s.DeviceConnected(ctx, "dev-missing", &vcguardv1.DeviceInfo{Hostname: "x"}, at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeviceConnected(unknown) = %v, want ErrNotFound", err)
	}
}
