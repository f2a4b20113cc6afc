package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// seqs lists a batch's events as "device/seq".
func seqs(b store.ExportBatch) []string {
	var out []string
	for _, e := range b.Events {
		out = append(out, fmt.Sprintf("%s/%d", e.DeviceID, e.Seq))
	}
	return out
}

// The SIEM export's lease and cursors (server/siem): one owner at a time,
// progress only by the lease holder, cursors per device and for the audit
// log, purged events passed over.
func TestExportCursors(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ctx := t.Context()
		newDevice(t, s, "dev-1", "host-1")
		newDevice(t, s, "dev-2", "host-2")
		if _, err := s.IngestEvents(ctx, "dev-1", batchOf(1, 5), at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.IngestEvents(ctx, "dev-2", batchOf(1, 2), at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := s.AppendAudit(ctx, store.AuditEntry{At: at(0), Actor: "alice", Action: fmt.Sprintf("act_%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		now, ttl := at(2*time.Hour), time.Minute
		claim := func(owner string, when time.Time) bool {
			t.Helper()
			ok, err := s.ClaimExport(ctx, "dest", owner, when, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !claim("a", now) || !claim("a", now.Add(time.Second)) {
			t.Fatal("a could not claim (or renew) a free lease")
		}
		if claim("b", now.Add(30*time.Second)) {
			t.Fatal("b took a lease a holds")
		}
		pending := func(limit int) store.ExportBatch {
			t.Helper()
			p, err := s.PendingExport(ctx, "dest", limit)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := pending(4) // a fair share: 2 events of each device
		if got := fmt.Sprint(seqs(p)); got != "[dev-1/1 dev-1/2 dev-2/1 dev-2/2]" {
			t.Fatalf("first batch %s", got)
		}
		if len(p.Audit) != 3 || p.Audit[0].Action != "act_0" || p.Hostnames["dev-1"] != "host-1" || p.Hostnames["dev-2"] != "host-2" {
			t.Fatalf("first batch audit %+v hostnames %v", p.Audit, p.Hostnames)
		}
		// a's lease expires and b takes over: a's late progress is refused.
		if !claim("b", now.Add(2*time.Minute)) {
			t.Fatal("b could not take an expired lease")
		}
		if err := s.AdvanceExport(ctx, "dest", "a", p, now.Add(2*time.Minute), ttl); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("AdvanceExport by the old owner: %v, want ErrLeaseLost", err)
		}
		if got := fmt.Sprint(seqs(pending(4))); got != "[dev-1/1 dev-1/2 dev-2/1 dev-2/2]" {
			t.Fatalf("after a refused advance the batch is %s", got)
		}
		if err := s.AdvanceExport(ctx, "dest", "b", p, now.Add(2*time.Minute), ttl); err != nil {
			t.Fatal(err)
		}
		p = pending(10)
		if got := fmt.Sprint(seqs(p)); got != "[dev-1/3 dev-1/4 dev-1/5]" || len(p.Audit) != 0 {
			t.Fatalf("second batch %s, audit %d", got, len(p.Audit))
		}
		// Another destination has its own cursors.
		if other, err := s.PendingExport(ctx, "other", 100); err != nil || len(other.Events) != 7 || len(other.Audit) != 3 {
			t.Fatalf("other destination: %d events, %d audit, %v", len(other.Events), len(other.Audit), err)
		}
		if err := s.AdvanceExport(ctx, "dest", "b", p, now.Add(2*time.Minute), ttl); err != nil {
			t.Fatal(err)
		}
		if p := pending(10); !p.Empty() {
			t.Fatalf("everything acknowledged, still pending: %v", seqs(p))
		}
		// Events purged before they were exported are passed over.
		if _, err := s.IngestEvents(ctx, "dev-2", batchOf(3, 2), at(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PurgeEvents(ctx, at(4*time.Hour)); err != nil {
			t.Fatal(err)
		}
		p = pending(10)
		if p.Empty() || len(p.Events) != 0 {
			t.Fatalf("after the purge: %v, empty %v", seqs(p), p.Empty())
		}
		if err := s.AdvanceExport(ctx, "dest", "b", p, now.Add(3*time.Minute), ttl); err != nil {
			t.Fatal(err)
		}
		if p := pending(10); !p.Empty() {
			t.Fatalf("purged events still pending: %+v", p)
		}
		// Released, the lease is free at once.
		if err := s.ReleaseExport(ctx, "dest", "b"); err != nil {
			t.Fatal(err)
		}
		if !claim("a", now.Add(3*time.Minute)) {
			t.Fatal("a could not claim a released lease")
		}
		// A deleted device's cursor goes with it.
		if err := store.Exec(ctx, s, `DELETE FROM devices WHERE id = 'dev-2'`); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM siem_device_cursors WHERE device_id = 'dev-2'`); n != 0 {
			t.Fatalf("%d cursor rows of a deleted device", n)
		}
	})
}

// On PostgreSQL an audit entry whose transaction commits late must not be
// passed over: while an entry's transaction is open, an entry appended by
// another replica does not become visible before it (the audit order
// lock), so the export cursor never moves past an uncommitted id.
func TestAuditOrderPostgres(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	var replicas [2]*store.Store
	for i := range replicas {
		s, err := store.OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replicas[i] = s
	}
	ctx := t.Context()
	commit, err := store.HoldAudit(ctx, replicas[0], store.AuditEntry{At: at(0), Actor: "alice", Action: "first"})
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		second <- replicas[1].AppendAudit(ctx, store.AuditEntry{At: at(0), Actor: "bob", Action: "second"})
	}()
	time.Sleep(300 * time.Millisecond) // room for the second entry to commit, were it not held back
	p, err := replicas[1].PendingExport(ctx, "dest", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Audit) != 0 {
		t.Fatalf("entry %q (id %d) visible while an entry before it is uncommitted: the cursor would pass over it", p.Audit[0].Action, p.Audit[0].ID)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	p, err = replicas[1].PendingExport(ctx, "dest", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Audit) != 2 || p.Audit[0].Action != "first" || p.Audit[1].Action != "second" || p.Audit[0].ID >= p.Audit[1].ID {
		t.Fatalf("after both commits: %+v", p.Audit)
	}
}
