package siem_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/siem"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// ingest stores events from..to of device (creating the device first when
// from is 1), in batches as an agent sends them.
func ingest(t *testing.T, st *store.Store, device string, from, to uint64) {
	t.Helper()
	ctx := t.Context()
	if from == 1 {
		if err := st.CreateDevice(ctx, store.Device{ID: device, Hostname: "host-" + device, OS: "linux", Enrolled: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for lo := from; lo <= to; lo += 10 {
		var evs []*vcguardv1.Event
		for seq := lo; seq <= min(lo+9, to); seq++ {
			e := appEvent(seq, vcguardv1.AppEvent_KIND_STARTED, vcguardv1.Verdict_VERDICT_APPROVED)
			e.Time = timestamppb.New(t0.Add(time.Duration(seq) * time.Second))
			evs = append(evs, e)
		}
		if _, err := st.IngestEvents(ctx, device, evs, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

func audit(t *testing.T, st *store.Store, n int, actor string) {
	t.Helper()
	for i := range n {
		if err := st.AppendAudit(t.Context(), store.AuditEntry{At: t0, Actor: actor, Action: "login_success",
			Target: fmt.Sprintf("admin:%s-%d", actor, i), RemoteAddr: "192.0.2.1:1"}); err != nil {
			t.Fatal(err)
		}
	}
}

// auditIDs returns the ids of every audit entry, oldest first.
func auditIDs(t *testing.T, st *store.Store) []int64 {
	t.Helper()
	entries, err := st.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := len(entries) - 1; i >= 0; i-- {
		ids = append(ids, entries[i].ID)
	}
	return ids
}

// want is what a destination must have received.
type want struct {
	events map[string]uint64 // device -> last seq (every seq from 1)
	audit  []int64
}

func (w want) total() int {
	n := len(w.audit)
	for _, last := range w.events {
		n += int(last)
	}
	return n
}

// received reads the messages' record ids (from the structured data,
// checked against the ECS body) and reports whether all of w is there.
func received(t testing.TB, msgs []syslogMsg, w want) bool {
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.SD[siem.SDID]["id"]] = true
	}
	for dev, last := range w.events {
		for seq := uint64(1); seq <= last; seq++ {
			if !seen[fmt.Sprintf("event:%s:%d", dev, seq)] {
				return false
			}
		}
	}
	for _, id := range w.audit {
		if !seen[fmt.Sprintf("audit:%d", id)] {
			return false
		}
	}
	return true
}

// checkStream checks every message is well formed and that records came in
// order: per device by sequence number and audit entries by id, counting
// first deliveries (a resent record may repeat an earlier one). It returns
// how many messages were resent duplicates.
func checkStream(t *testing.T, msgs []syslogMsg, w want) int {
	t.Helper()
	if !received(t, msgs, w) {
		t.Fatalf("not every record was delivered")
	}
	seen := map[string]bool{}
	lastSeq := map[string]uint64{}
	var lastAudit int64
	dups := 0
	for _, m := range msgs {
		sd := m.SD[siem.SDID]
		id := sd["id"]
		if strings.HasPrefix(string(m.Msg), "CEF:") {
			if _, ext := parseCEF(t, string(m.Msg)); ext["externalId"] != id {
				t.Fatalf("message %s: CEF externalId %q", id, ext["externalId"])
			}
		} else {
			var doc map[string]any
			if err := json.Unmarshal(m.Msg, &doc); err != nil {
				t.Fatalf("message %s: ECS body is not JSON: %v", id, err)
			}
			if got := get(doc, "event.id"); got != id {
				t.Fatalf("message %s: ECS event.id %v", id, got)
			}
		}
		if seen[id] {
			dups++
			continue
		}
		seen[id] = true
		switch sd["kind"] {
		case siem.KindEvent:
			seq, _ := strconv.ParseUint(sd["seq"], 10, 64)
			dev := sd["device"]
			if seq != lastSeq[dev]+1 {
				t.Errorf("device %s: event %d delivered first after %d", dev, seq, lastSeq[dev])
			}
			lastSeq[dev] = seq
			if m.Hostname != "host-"+dev {
				t.Errorf("event %s: HOSTNAME %q", id, m.Hostname)
			}
		case siem.KindAudit:
			n, _ := strconv.ParseInt(strings.TrimPrefix(id, "audit:"), 10, 64)
			if n <= lastAudit {
				t.Errorf("audit entry %d delivered first after %d", n, lastAudit)
			}
			lastAudit = n
		default:
			t.Errorf("message %q: kind %q", id, sd["kind"])
		}
	}
	if len(seen) != w.total() {
		t.Errorf("%d distinct records delivered, want %d", len(seen), w.total())
	}
	return dups
}

func newSyslogDest(t *testing.T, recv *syslogReceiver) *siem.Syslog {
	t.Helper()
	d, err := siem.NewSyslog(siem.SyslogConfig{Addr: recv.Addr(), CAFile: recv.CAFile, Format: siem.FormatECS, Hostname: "server", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// running is an exporter run in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func start(t *testing.T, e *siem.Exporter) *running {
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// The server restarts mid-stream: part of the stream is exported, the
// exporter and its store are stopped, the same SQLite file is opened again
// (with new events and audit entries meanwhile) and the export goes on from
// the stored cursor: every record arrives, in order, and at most the batch
// in flight at the stop is sent twice.
func TestSyslogExportSurvivesRestartSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vcguard.db")
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	devices := []string{"dev-a", "dev-b", "dev-c"}
	for _, d := range devices {
		ingest(t, st, d, 1, 40)
	}
	audit(t, st, 20, "alice")
	recv := newSyslogReceiver(t)
	const batch = 7
	exp := &siem.Exporter{Store: st, Dest: newSyslogDest(t, recv), Owner: "run-1", Logger: testLogger(t), Batch: batch, Poll: 20 * time.Millisecond}
	run := start(t, exp)
	recv.waitFor(t, "part of the stream", func(m []syslogMsg) bool { return len(m) >= 50 })
	run.stop()
	st.Close()
	before := len(recv.Messages())
	if before >= 3*40+20 {
		t.Fatalf("the whole stream (%d) went out before the stop; the test needs a stop mid-stream", before)
	}

	st, err = store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, d := range devices {
		ingest(t, st, d, 41, 50)
	}
	audit(t, st, 5, "bob")
	w := want{events: map[string]uint64{"dev-a": 50, "dev-b": 50, "dev-c": 50}, audit: auditIDs(t, st)}
	exp = &siem.Exporter{Store: st, Dest: newSyslogDest(t, recv), Owner: "run-2", Logger: testLogger(t), Batch: batch, Poll: 20 * time.Millisecond}
	run = start(t, exp)
	recv.waitFor(t, "every record", func(m []syslogMsg) bool { return received(t, m, w) })
	run.stop()
	// Records of one batch (events and audit entries) at most are resent.
	if dups := checkStream(t, recv.Messages(), w); dups > 2*batch {
		t.Errorf("%d records sent twice: the restart did not resume from the stored cursor", dups)
	}
	t.Logf("%d messages before the restart, %d in all", before, len(recv.Messages()))
}

// concurrencyCheck wraps a real destination and fails the test when two
// exporters send to the destination at the same time.
type concurrencyCheck struct {
	siem.Destination
	t        *testing.T
	owner    string
	inFlight *atomic.Int32
	last     *atomic.Value // owner of the last send
	sends    *atomic.Int32
}

func (c *concurrencyCheck) Send(ctx context.Context, recs []siem.Record) error {
	if n := c.inFlight.Add(1); n > 1 {
		c.t.Errorf("%s sends while another exporter does", c.owner)
	}
	defer c.inFlight.Add(-1)
	c.last.Store(c.owner)
	c.sends.Add(1)
	time.Sleep(2 * time.Millisecond) // widen the window another sender would hit
	return c.Destination.Send(ctx, recs)
}

// Two replicas on one PostgreSQL database export to the same destination:
// one at a time does. The one exporting is stopped (and its store closed)
// mid-stream; the other takes over from the stored cursor, and audit
// entries written concurrently on both replicas all arrive.
func TestExportPostgresReplicas(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	open := func() *store.Store {
		st, err := store.OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	stores := []*store.Store{open(), open()}
	defer stores[1].Close()
	for _, d := range []string{"dev-a", "dev-b"} {
		ingest(t, stores[0], d, 1, 60)
	}
	recv := newSyslogReceiver(t)
	var inFlight atomic.Int32
	var last atomic.Value
	var sends [2]atomic.Int32
	owners := []string{"replica-0", "replica-1"}
	runs := make([]*running, 2)
	for i := range runs {
		dest := &concurrencyCheck{Destination: newSyslogDest(t, recv), t: t, owner: owners[i], inFlight: &inFlight, last: &last, sends: &sends[i]}
		runs[i] = start(t, &siem.Exporter{Store: stores[i], Dest: dest, Owner: owners[i], Logger: testLogger(t),
			Batch: 5, Poll: 20 * time.Millisecond, LeaseTTL: 5 * time.Second})
	}
	// Audit entries on both replicas while the export runs.
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() { audit(t, st, 30, owners[i]) })
	}
	recv.waitFor(t, "part of the stream", func(m []syslogMsg) bool { return len(m) >= 40 })
	wg.Wait()
	holder := 0
	if last.Load() == owners[1] {
		holder = 1
	}
	runs[holder].stop()
	if holder == 0 {
		stores[0].Close()
	}
	other := stores[1-holder]
	ingest(t, other, "dev-a", 61, 70)
	audit(t, other, 5, "carol")
	w := want{events: map[string]uint64{"dev-a": 70, "dev-b": 60}, audit: auditIDs(t, other)}
	if len(w.audit) != 65 {
		t.Fatalf("%d audit entries stored, want 65", len(w.audit))
	}
	recv.waitFor(t, "every record", func(m []syslogMsg) bool { return received(t, m, w) })
	runs[1-holder].stop()
	if holder == 1 {
		stores[0].Close()
	}
	if dups := checkStream(t, recv.Messages(), w); dups > 10 {
		t.Errorf("%d records sent twice", dups)
	}
	if sends[1-holder].Load() == 0 {
		t.Errorf("%s never exported after %s stopped", owners[1-holder], owners[holder])
	}
}

// CEF over syslog to a receiver that requires a client certificate: each
// message's body is a CEF line naming the same record as its structured
// data.
func TestSyslogCEFWithClientCertificate(t *testing.T) {
	t.Parallel()
	clientCert, certFile, keyFile := testCertFor(t, x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(mustParse(t, clientCert.Certificate[0]))
	recv := newSyslogReceiverTLS(t, pool)
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingest(t, st, "dev-a", 1, 5)
	audit(t, st, 2, "alice")
	dest, err := siem.NewSyslog(siem.SyslogConfig{Addr: recv.Addr(), CAFile: recv.CAFile, CertFile: certFile, KeyFile: keyFile,
		Format: siem.FormatCEF, Hostname: "server", Version: "9.9"})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, &siem.Exporter{Store: st, Dest: dest, Owner: "r", Logger: testLogger(t), Poll: 20 * time.Millisecond})
	w := want{events: map[string]uint64{"dev-a": 5}, audit: auditIDs(t, st)}
	recv.waitFor(t, "every record", func(m []syslogMsg) bool { return received(t, m, w) })
	run.stop()
	for _, m := range recv.Messages() {
		header, ext := parseCEF(t, string(m.Msg))
		if header[0] != "CEF:0" || header[3] != "9.9" {
			t.Errorf("CEF header %q", header)
		}
		if id := m.SD[siem.SDID]["id"]; ext["externalId"] != id {
			t.Errorf("CEF externalId %q in the message of %q", ext["externalId"], id)
		}
		if m.SD[siem.SDID]["kind"] == siem.KindAudit && m.Hostname != "server" {
			t.Errorf("audit entry with HOSTNAME %q", m.Hostname)
		}
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The receiver restarts (closes its connections) while the exporter is
// idle: the exporter notices before it writes the next batch, reconnects,
// and nothing written after the close is lost. (Without the check the
// first batch after each close went into the dead connection, was taken
// by the kernel, counted as delivered, and lost.)
func TestSyslogReconnectsAfterReceiverCloses(t *testing.T) {
	t.Parallel()
	recv := newSyslogReceiver(t)
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vcguard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingest(t, st, "dev-a", 1, 10)
	// Batches of one small record: each is one TLS record, one write. (A
	// batch of several records takes several writes, and on loopback the
	// receiver's reset fails the second: that would hide the loss.)
	dest, err := siem.NewSyslog(siem.SyslogConfig{Addr: recv.Addr(), CAFile: recv.CAFile, Format: siem.FormatCEF, Hostname: "server"})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, &siem.Exporter{Store: st, Dest: dest, Owner: "r", Logger: testLogger(t), Batch: 1,
		Poll: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	w := want{events: map[string]uint64{"dev-a": 10}}
	recv.waitFor(t, "the first records", func(m []syslogMsg) bool { return received(t, m, w) })
	for round := range 3 {
		if n := recv.dropConnections(); n != 1 {
			t.Fatalf("round %d: %d connections open, want 1", round, n)
		}
		time.Sleep(50 * time.Millisecond) // the close reaches the exporter's side
		last := uint64(10 * (round + 2))
		ingest(t, st, "dev-a", last-9, last)
		w.events["dev-a"] = last
		recv.waitFor(t, fmt.Sprintf("records after close %d", round+1), func(m []syslogMsg) bool { return received(t, m, w) })
	}
	run.stop()
	if n := recv.connections(); n != 4 {
		t.Errorf("%d connections, want 4 (one and a reconnection after each close)", n)
	}
	checkStream(t, recv.Messages(), w)
}
