package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Tests of the agent stream's write path under concurrency: group commit,
// failure isolation, heartbeats beside ingest, per-device caps, bounded
// descriptors. Each runs on SQLite and, with VCGUARD_TEST_POSTGRES set, on
// PostgreSQL.

type backend struct {
	name     string
	open     opener
	postgres bool
}

func forBackends(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range []backend{{"SQLite", openSQLite, false}, {"Postgres", openPostgres, true}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func count(t *testing.T, s *store.Store, query string, args ...any) int64 {
	t.Helper()
	n, err := store.QueryInt(t.Context(), s, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// batchOf returns policy_applied events first..first+n-1.
func batchOf(first uint64, n int) []*vcguardv1.Event {
	evs := make([]*vcguardv1.Event, n)
	for i := range evs {
		evs[i] = policyApplied(first+uint64(i), at(time.Duration(first)+time.Duration(i)), first+uint64(i))
	}
	return evs
}

// holdWriter parks the writer before its first park groups; each returned
// pair is closed when the writer has arrived and released when the test
// closes it.
type parking struct {
	arrived []chan struct{}
	release []chan struct{}
	calls   atomic.Int32
}

func holdWriter(s *store.Store, park int) *parking {
	p := &parking{}
	for range park {
		p.arrived = append(p.arrived, make(chan struct{}))
		p.release = append(p.release, make(chan struct{}))
	}
	store.SetBeforeGroup(s, func() {
		i := int(p.calls.Add(1)) - 1
		if i < park {
			close(p.arrived[i])
			<-p.release[i]
		}
	})
	return p
}

// waitFor polls cond: the writer's queue has no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Many devices ingesting at once, each batch also resent: every event is
// stored exactly once and each device's last_seq is its last event.
func TestIngestConcurrentExactlyOnce(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ctx := t.Context()
		const devices, batches, size = 60, 10, 5
		for d := range devices {
			newDevice(t, s, fmt.Sprintf("dev-%03d", d), fmt.Sprintf("host-%03d", d))
		}
		var wg sync.WaitGroup
		errs := make(chan error, devices*batches*4)
		for d := range devices {
			id := fmt.Sprintf("dev-%03d", d)
			acked := make(chan uint64, batches)
			wg.Go(func() { // the stream: batches in order, each one sent twice
				defer close(acked)
				for i := range batches {
					evs := batchOf(uint64(i*size+1), size)
					for range 2 {
						last, err := s.IngestEvents(ctx, id, evs, at(time.Hour))
						if err != nil {
							errs <- err
							return
						}
						if want := uint64((i + 1) * size); last != want {
							errs <- fmt.Errorf("%s: IngestEvents returned %d, want %d", id, last, want)
						}
					}
					if err := s.TouchDevice(ctx, id, at(time.Hour)); err != nil {
						errs <- err
					}
					acked <- uint64((i + 1) * size)
				}
			})
			wg.Go(func() { // a stale stream resending what was acknowledged
				for last := range acked {
					if _, err := s.IngestEvents(ctx, id, batchOf(1, int(last)), at(time.Hour)); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM events`); n != devices*batches*size {
			t.Errorf("%d events stored, want %d", n, devices*batches*size)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM devices WHERE last_seq <> $1 OR policy_version <> $1`, batches*size); n != 0 {
			t.Errorf("%d devices with last_seq or policy_version other than %d", n, batches*size)
		}
	})
}

// A batch that fails inside a group transaction fails only its device: the
// other devices' batches in the same group are stored, and the device's
// next attempt succeeds once the cause is gone. A caller that stops waiting
// before the group runs changes nothing.
func TestIngestBadBatchFailsOnlyItsDevice(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ctx := t.Context()
		const good = 30
		for d := range good {
			newDevice(t, s, fmt.Sprintf("dev-%02d", d), "h")
		}
		newDevice(t, s, "dev-bad", "bad")
		newDevice(t, s, "dev-gone", "gone")
		// The database refuses dev-bad's events, as it would a value it
		// cannot store.
		trigger := `CREATE TRIGGER refuse_bad BEFORE INSERT ON events WHEN NEW.device_id = 'dev-bad'
			BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`
		drop := `DROP TRIGGER refuse_bad`
		if b.postgres {
			if err := store.Exec(ctx, s, `CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.device_id = 'dev-bad' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$`); err != nil {
				t.Fatal(err)
			}
			trigger = `CREATE TRIGGER refuse_bad BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_bad()`
			drop = `DROP TRIGGER refuse_bad ON events`
		}
		if err := store.Exec(ctx, s, trigger); err != nil {
			t.Fatal(err)
		}

		p := holdWriter(s, 1)
		results := make(map[string]chan error)
		submit := func(id string, ctx context.Context, evs []*vcguardv1.Event) {
			ch := make(chan error, 1)
			results[id] = ch
			go func() {
				_, err := s.IngestEvents(ctx, id, evs, at(time.Hour))
				ch <- err
			}()
		}
		submit("dev-00", ctx, batchOf(1, 3))
		<-p.arrived[0] // the writer holds dev-00's request; the rest queue behind it
		for d := 1; d < good; d++ {
			submit(fmt.Sprintf("dev-%02d", d), ctx, batchOf(1, 3))
		}
		submit("dev-bad", ctx, batchOf(1, 3))
		submit("dev-missing", ctx, batchOf(1, 3))
		cctx, cancel := context.WithCancel(ctx)
		submit("dev-gone", cctx, batchOf(1, 3))
		waitFor(t, "queued writes", func() bool { return store.QueuedWrites(s) == good+2 })
		cancel()
		if err := <-results["dev-gone"]; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller got %v", err)
		}
		close(p.release[0])

		for d := range good {
			if err := <-results[fmt.Sprintf("dev-%02d", d)]; err != nil {
				t.Errorf("dev-%02d: %v", d, err)
			}
		}
		if err := <-results["dev-bad"]; err == nil || !strings.Contains(err.Error(), "refused by test trigger") {
			t.Errorf("dev-bad: %v, want the trigger's error", err)
		}
		if err := <-results["dev-missing"]; !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dev-missing: %v, want ErrNotFound", err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM events WHERE device_id <> 'dev-gone'`); n != good*3 {
			t.Errorf("%d events stored, want %d", n, good*3)
		}
		if n := count(t, s, `SELECT last_seq FROM devices WHERE id = 'dev-bad'`); n != 0 {
			t.Errorf("dev-bad last_seq = %d after its failed batch", n)
		}
		// The cancelled write was dropped or applied whole, never in part.
		if n := count(t, s, `SELECT COUNT(*) FROM events WHERE device_id = 'dev-gone'`); n != 0 && n != 3 {
			t.Errorf("dev-gone has %d of its 3 events", n)
		}

		if err := store.Exec(ctx, s, drop); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"dev-bad", "dev-gone"} {
			if last := ingest(t, s, id, at(time.Hour), batchOf(1, 3)...); last != 3 {
				t.Errorf("%s resent: last = %d, want 3", id, last)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM events WHERE device_id = $1`, id); n != 3 {
				t.Errorf("%s: %d events after the resend, want 3", id, n)
			}
		}
	})
}

// A heartbeat is committed with the next group, ahead of the ingest
// requests queued before it.
func TestHeartbeatNotBehindIngest(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ctx := t.Context()
		const devices, size = 60, 100 // more events than one group takes
		for d := range devices {
			newDevice(t, s, fmt.Sprintf("dev-%02d", d), "h")
		}
		newDevice(t, s, "dev-hb", "hb")
		p := holdWriter(s, 2)
		var done atomic.Int32
		var wg sync.WaitGroup
		ingestAsync := func(id string) {
			wg.Go(func() {
				if _, err := s.IngestEvents(ctx, id, batchOf(1, size), at(time.Hour)); err != nil {
					t.Errorf("%s: %v", id, err)
				}
				done.Add(1)
			})
		}
		ingestAsync("dev-00")
		<-p.arrived[0]
		for d := 1; d < devices; d++ {
			ingestAsync(fmt.Sprintf("dev-%02d", d))
		}
		waitFor(t, "queued ingest", func() bool { return store.QueuedWrites(s) == devices-1 })
		touched := make(chan error, 1)
		go func() { touched <- s.TouchDevice(ctx, "dev-hb", at(2*time.Hour)) }()
		waitFor(t, "pending heartbeat", func() bool { return store.PendingTouches(s) == 1 })
		close(p.release[0])
		if err := <-touched; err != nil {
			t.Fatal(err)
		}
		// The writer is parked before its second group: the first one
		// carried the heartbeat, with only part of the ingest.
		<-p.arrived[1]
		if n := done.Load(); n >= devices {
			t.Errorf("the heartbeat waited for all %d ingest requests", n)
		}
		if got := count(t, s, `SELECT last_seen FROM devices WHERE id = 'dev-hb'`); got != at(2*time.Hour).UnixMicro() {
			t.Errorf("last_seen of dev-hb = %d, want the heartbeat's time", got)
		}
		close(p.release[1])
		wg.Wait()
		if n := count(t, s, `SELECT COUNT(*) FROM events`); n != devices*size {
			t.Errorf("%d events stored, want %d", n, devices*size)
		}
	})
}

// refusals counts Store.Refused calls by reason.
type refusals struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *refusals) hook(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[reason]++
}

func (r *refusals) get(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// Past the per-device caps, events are stored but their change of state is
// refused and reported; stopped instances make room for new ones.
func TestIngestDeviceCaps(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ref := &refusals{n: map[string]int{}}
		s.Refused = ref.hook
		newDevice(t, s, "dev-1", "one")
		newDevice(t, s, "dev-2", "two")
		seq := uint64(0)
		next := func() uint64 { seq++; return seq }
		send := func(evs []*vcguardv1.Event) {
			t.Helper()
			for lo := 0; lo < len(evs); lo += 100 {
				ingest(t, s, "dev-1", at(time.Hour), evs[lo:min(lo+100, len(evs))]...)
			}
		}
		running := func() int64 {
			return count(t, s, `SELECT COUNT(*) FROM device_apps WHERE device_id = 'dev-1' AND running = 1`)
		}

		// The attack: one app started under ever new PIDs.
		var evs []*vcguardv1.Event
		for pid := range 300 {
			evs = append(evs, started(next(), at(time.Minute), instance("zoom", int32(1000+pid), at(time.Minute), vcguardv1.Verdict_VERDICT_RESTRICTED)))
		}
		send(evs)
		if n := running(); n != store.MaxRunningApps {
			t.Errorf("%d running apps, want the cap %d", n, store.MaxRunningApps)
		}
		if n := ref.get(store.RefusedRunningApps); n != 300-store.MaxRunningApps {
			t.Errorf("%d refusals reported, want %d", n, 300-store.MaxRunningApps)
		}
		// Stopping makes room again.
		evs = nil
		for pid := range 10 {
			evs = append(evs, stopped(next(), at(2*time.Minute), instance("zoom", int32(1000+pid), at(time.Minute), vcguardv1.Verdict_VERDICT_RESTRICTED)))
		}
		evs = append(evs, started(next(), at(3*time.Minute), instance("teams", 5000, at(3*time.Minute), vcguardv1.Verdict_VERDICT_APPROVED)))
		send(evs)
		if n := running(); n != store.MaxRunningApps-9 {
			t.Errorf("%d running apps after 10 stops and a start, want %d", n, store.MaxRunningApps-9)
		}
		// Rounds of new apps, each stopped by an inventory: stopped
		// instances are bounded too, the oldest make room.
		for round := range 3 {
			evs = []*vcguardv1.Event{inventory(next(), at(time.Hour))}
			for i := range store.MaxRunningApps {
				evs = append(evs, started(next(), at(time.Hour), instance(fmt.Sprintf("app-%d-%d", round, i), int32(i), at(time.Duration(round)*time.Minute), vcguardv1.Verdict_VERDICT_UNLISTED)))
			}
			send(evs)
			if n := running(); n != store.MaxRunningApps {
				t.Errorf("round %d: %d running apps, want %d", round, n, store.MaxRunningApps)
			}
			if n := count(t, s, `SELECT COUNT(*) FROM device_apps WHERE device_id = 'dev-1'`); n > 2*store.MaxRunningApps {
				t.Errorf("round %d: %d app rows, want at most %d", round, n, 2*store.MaxRunningApps)
			}
		}
		// Media: one camera per PID.
		evs = nil
		for pid := range store.MaxMediaRows + 6 {
			evs = append(evs, mediaEvent(next(), at(time.Hour), true, &vcguardv1.MediaUse{Kind: "camera", Source: "v4l2", Device: "/dev/video0",
				Pid: int32(pid + 1), Since: timestamppb.New(at(time.Hour))}))
		}
		send(evs)
		if n := count(t, s, `SELECT COUNT(*) FROM device_media WHERE device_id = 'dev-1'`); n != store.MaxMediaRows {
			t.Errorf("%d media rows, want the cap %d", n, store.MaxMediaRows)
		}
		if n := ref.get(store.RefusedMediaRows); n != 6 {
			t.Errorf("%d media refusals, want 6", n)
		}
		// Every event was stored all the same.
		if n := count(t, s, `SELECT COUNT(*) FROM events WHERE device_id = 'dev-1'`); n != int64(seq) {
			t.Errorf("%d events stored, want %d", n, seq)
		}
		// Another device is not affected by dev-1's state.
		ingest(t, s, "dev-2", at(time.Hour), started(1, at(time.Minute), instance("zoom", 1, at(time.Minute), vcguardv1.Verdict_VERDICT_APPROVED)))
		wantApps(t, s, "dev-2", "zoom/1 running approved")
	})
}

// dbDescriptors counts this process's open descriptors on the database file
// and its -wal and -shm companions.
func dbDescriptors(t *testing.T, path string) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, path) {
			n++
		}
	}
	return n
}

// Hundreds of streams writing at once hold a constant number of
// descriptors on the SQLite database, and every event is stored once.
func TestSQLiteDescriptorsBounded(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vcguard.db")
	s, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dbDescriptors(t, path) // skips where /proc is missing
	ctx := t.Context()
	const writers, batches, size = 500, 4, 5
	for d := range writers {
		newDevice(t, s, fmt.Sprintf("dev-%03d", d), "h")
	}
	stop := make(chan struct{})
	peak := make(chan int)
	go func() {
		most := 0
		for {
			most = max(most, dbDescriptors(t, path))
			select {
			case <-stop:
				peak <- most
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for d := range writers {
		id := fmt.Sprintf("dev-%03d", d)
		wg.Go(func() {
			if err := s.DeviceConnected(ctx, id, &vcguardv1.DeviceInfo{Hostname: "h", Os: "linux"}, at(0)); err != nil {
				t.Error(err)
			}
			for i := range batches {
				if _, err := s.IngestEvents(ctx, id, batchOf(uint64(i*size+1), size), at(time.Hour)); err != nil {
					t.Error(err)
				}
				if err := s.TouchDevice(ctx, id, at(time.Hour)); err != nil {
					t.Error(err)
				}
				// A reader beside the writers.
				if _, err := s.DeviceRecord(ctx, id); err != nil {
					t.Error(err)
				}
			}
			if err := s.DeviceDisconnected(ctx, id, at(2*time.Hour)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	most := <-peak
	// One writer and at most four readers, each with at most the database
	// file, its WAL and its shared-memory index open: a constant, whatever
	// the number of writers (the old unbounded pool reached thousands).
	const bound = 3 * (1 + 4)
	t.Logf("peak descriptors on the database: %d (bound %d)", most, bound)
	if most > bound {
		t.Errorf("%d descriptors on the database file with %d writers, want at most %d", most, writers, bound)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM events`); n != writers*batches*size {
		t.Errorf("%d events stored, want %d", n, writers*batches*size)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM devices WHERE connected <> 0`); n != 0 {
		t.Errorf("%d devices still connected", n)
	}
}

// Close commits what was queued: every write that returned success is in
// the database when it is opened again, and later writes fail.
func TestCloseDrainsWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vcguard.db")
	s, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const devices = 100
	for d := range devices {
		newDevice(t, s, fmt.Sprintf("dev-%03d", d), "h")
	}
	p := holdWriter(s, 1)
	var wg sync.WaitGroup
	lasts := make([]uint64, devices)
	for d := range devices {
		wg.Go(func() {
			lasts[d], _ = s.IngestEvents(ctx, fmt.Sprintf("dev-%03d", d), batchOf(1, 10), at(time.Hour))
		})
		if d == 0 {
			<-p.arrived[0]
		}
	}
	waitFor(t, "queued writes", func() bool { return store.QueuedWrites(s) == devices-1 })
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	close(p.release[0])
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := s.IngestEvents(ctx, "dev-000", batchOf(11, 1), at(time.Hour)); err == nil {
		t.Error("IngestEvents after Close succeeded")
	}
	s, err = store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for d, last := range lasts {
		if last != 10 {
			t.Errorf("dev-%03d: IngestEvents returned %d before Close, want 10", d, last)
		}
	}
	if n := count(t, s, `SELECT COUNT(*) FROM events`); n != devices*10 {
		t.Errorf("%d events after reopening, want %d", n, devices*10)
	}
}
