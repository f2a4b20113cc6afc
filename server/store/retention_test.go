package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// eventKeys lists every stored event as "device/seq", newest first.
func eventKeys(t *testing.T, s *store.Store) []string {
	t.Helper()
	evs, err := s.Events(t.Context(), store.EventFilter{Limit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s/%d", e.DeviceID, e.Seq))
	}
	return out
}

func testPurgeEvents(t *testing.T, s *store.Store) {
	ctx := t.Context()
	newDevice(t, s, "dev-1", "one")
	newDevice(t, s, "dev-2", "two")
	zoom := instance("zoom", 100, at(0), vcguardv1.Verdict_VERDICT_RESTRICTED)
	// Each event is received when it happened; retention goes by the
	// received time.
	ingest(t, s, "dev-1", at(1*time.Second), started(1, at(1*time.Second), zoom))
	ingest(t, s, "dev-1", at(2*time.Second), policyApplied(2, at(2*time.Second), 1))
	ingest(t, s, "dev-1", at(3*time.Second), policyApplied(3, at(3*time.Second), 2))
	ingest(t, s, "dev-1", at(4*time.Second), policyApplied(4, at(4*time.Second), 3))
	ingest(t, s, "dev-2", at(1*time.Second), policyApplied(1, at(1*time.Second), 1))
	ingest(t, s, "dev-2", at(5*time.Second), policyApplied(2, at(5*time.Second), 2))

	if n, err := s.PurgeEvents(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("PurgeEvents(zero time) = %d, %v; want 0", n, err)
	}
	// Strictly before: the event at 3s stays.
	n, err := s.PurgeEvents(ctx, at(3*time.Second))
	if err != nil || n != 3 {
		t.Fatalf("PurgeEvents(3s) = %d, %v; want 3", n, err)
	}
	if got, want := eventKeys(t, s), []string{"dev-2/2", "dev-1/4", "dev-1/3"}; !slices.Equal(got, want) {
		t.Errorf("events after purge = %v, want %v", got, want)
	}
	if n, err := s.PurgeEvents(ctx, at(3*time.Second)); err != nil || n != 0 {
		t.Errorf("purging again = %d, %v; want 0", n, err)
	}

	// The devices keep their state: apps, policy version, last sequence
	// number. A resent batch is still recognised and stores nothing again.
	d, err := s.Device(ctx, "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.LastSeq != 4 || d.PolicyVersion != 3 || len(d.Apps) != 1 {
		t.Errorf("device after purge = %+v", d)
	}
	if last := ingest(t, s, "dev-1", at(2*time.Hour), started(1, at(1*time.Second), zoom)); last != 4 {
		t.Errorf("resent batch: last seq %d, want 4", last)
	}
	if got := eventKeys(t, s); len(got) != 3 {
		t.Errorf("a resent purged event was stored again: %v", got)
	}

	n, err = s.PurgeEvents(ctx, at(time.Hour))
	if err != nil || n != 3 {
		t.Errorf("PurgeEvents(1h) = %d, %v; want 3", n, err)
	}
	if got := eventKeys(t, s); len(got) != 0 {
		t.Errorf("events left = %v", got)
	}
}

func testPurgeEventsBatches(t *testing.T, s *store.Store) {
	ctx := t.Context()
	store.SetPurgeBatch(s, 7)
	newDevice(t, s, "dev-1", "one")
	newDevice(t, s, "dev-2", "two")
	// dev-1: 23 old events and 5 new; dev-2: 14 old (two full batches).
	// The old ones are received before the hour, the new ones after it.
	var old, recent []*vcguardv1.Event
	for i := range 28 {
		if i < 23 {
			old = append(old, policyApplied(uint64(i+1), at(time.Duration(i)*time.Second), 1))
		} else {
			recent = append(recent, policyApplied(uint64(i+1), at(time.Hour+time.Duration(i)*time.Second), 1))
		}
	}
	ingest(t, s, "dev-1", at(30*time.Second), old...)
	ingest(t, s, "dev-1", at(2*time.Hour), recent...)
	var evs []*vcguardv1.Event
	for i := range 14 {
		evs = append(evs, policyApplied(uint64(i+1), at(time.Duration(i)*time.Second), 1))
	}
	ingest(t, s, "dev-2", at(30*time.Second), evs...)

	n, err := s.PurgeEvents(ctx, at(time.Hour))
	if err != nil || n != 23+14 {
		t.Fatalf("PurgeEvents = %d, %v; want %d", n, err, 23+14)
	}
	if got := eventKeys(t, s); len(got) != 5 || got[4] != "dev-1/24" {
		t.Errorf("events left = %v, want dev-1/24..28", got)
	}

	// A purge that is cancelled stops and says so.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.PurgeEvents(cancelled, at(3*time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled purge: %v, want context.Canceled", err)
	}
}

// recordHandler sends every log record to a channel.
type recordHandler struct{ records chan<- slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.records <- r.Clone()
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func testRetentionRun(t *testing.T, s *store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	newDevice(t, s, "dev-1", "one")
	ingest(t, s, "dev-1", at(0), policyApplied(1, at(0), 1))
	ingest(t, s, "dev-1", at(time.Hour), policyApplied(2, at(time.Hour), 1))
	ingest(t, s, "dev-1", at(30*time.Hour), policyApplied(3, at(30*time.Hour), 1))
	records := make(chan slog.Record, 10)
	r := &store.Retention{
		Store: s, Keep: 24 * time.Hour, Interval: time.Hour,
		Logger: slog.New(recordHandler{records}), Now: func() time.Time { return at(48 * time.Hour) },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	// The first purge runs at once.
	rec := <-records
	var purged int64 = -1
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "purged" {
			purged = a.Value.Int64()
		}
		return true
	})
	if rec.Level != slog.LevelInfo || purged != 2 {
		t.Errorf("log after the first purge: %v %q purged=%d, want INFO with purged=2", rec.Level, rec.Message, purged)
	}
	if got := eventKeys(t, s); !slices.Equal(got, []string{"dev-1/3"}) {
		t.Errorf("events after retention = %v, want [dev-1/3]", got)
	}
	cancel()
	<-done
}
