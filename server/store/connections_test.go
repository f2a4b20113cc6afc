package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func appConnection(seq uint64, when time.Time, c *vcguardv1.AppConnection) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(when), Detail: &vcguardv1.Event_AppConnection{AppConnection: c}}
}

func wrongServer(host string, a vcguardv1.Action) *vcguardv1.ConnectionFinding {
	return &vcguardv1.ConnectionFinding{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER, Detail: host, PolicyAction: a}
}

func personalAccount(detail string, a vcguardv1.Action) *vcguardv1.ConnectionFinding {
	return &vcguardv1.ConnectionFinding{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_PERSONAL_ACCOUNT, Detail: detail, PolicyAction: a}
}

// connectionLines renders the fleet's connection counts one line per app
// and per entry, for comparison.
func connectionLines(t *testing.T, s *store.Store) string {
	t.Helper()
	apps, err := s.Connections(t.Context())
	if err != nil {
		t.Fatalf("Connections: %v", err)
	}
	var b strings.Builder
	for _, a := range apps {
		fmt.Fprintf(&b, "%s devices=%d unreadable=%d entries=%d\n", a.AppID, a.Devices, a.Unreadable, a.EntriesTotal)
		for _, e := range a.Entries {
			fmt.Fprintf(&b, "  %s %q tenant=%q kind=%q devices=%d flagged=%d %s %s\n", e.Item, e.Value, e.Tenant, e.AccountKind, e.Devices, e.Flagged, e.Finding, e.Action)
		}
	}
	return b.String()
}

func wantConnections(t *testing.T, s *store.Store, want string) {
	t.Helper()
	if got := connectionLines(t, s); got != want {
		t.Errorf("Connections:\n%s\nwant:\n%s", got, want)
	}
}

// The latest app_connection per device and app is the state the fleet
// counts: servers and accounts by devices, what the policy found wrong
// marked; a resent batch changes nothing, a newer report replaces the
// app's state, deleting the device or purging its events removes it.
func TestConnectionState(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		for _, id := range []string{"dev-1", "dev-2", "dev-3"} {
			newDevice(t, s, id, "host-"+id)
		}
		warn, block := vcguardv1.Action_ACTION_WARN, vcguardv1.Action_ACTION_BLOCK
		batch1 := []*vcguardv1.Event{appConnection(1, at(time.Minute), &vcguardv1.AppConnection{
			AppId: "jitsi-meet", Pid: 100, Session: "1000", Servers: []string{"meet.jit.si"}, Source: "Jitsi Meet settings",
			Findings: []*vcguardv1.ConnectionFinding{wrongServer("meet.jit.si", warn)},
		})}
		ingest(t, s, "dev-1", at(time.Hour), batch1...)
		ingest(t, s, "dev-2", at(time.Hour), appConnection(1, at(time.Minute), &vcguardv1.AppConnection{
			AppId: "jitsi-meet", Servers: []string{"Jitsi.Example.org."},
		}))
		ingest(t, s, "dev-3", at(time.Hour),
			appConnection(1, at(time.Minute), &vcguardv1.AppConnection{
				AppId: "jitsi-meet", Servers: []string{"meet.jit.si"},
				Findings: []*vcguardv1.ConnectionFinding{wrongServer("meet.jit.si", block)},
			}),
			appConnection(2, at(2*time.Minute), &vcguardv1.AppConnection{
				AppId: "teams",
				Accounts: []*vcguardv1.Account{
					{Kind: vcguardv1.AccountKind_ACCOUNT_KIND_WORK, Domain: "example.org", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"},
					{Kind: vcguardv1.AccountKind_ACCOUNT_KIND_PERSONAL},
				},
				Findings: []*vcguardv1.ConnectionFinding{personalAccount("personal account", warn)},
			}),
			appConnection(3, at(3*time.Minute), &vcguardv1.AppConnection{AppId: "element", Error: "no local configuration"}),
		)
		want := `jitsi-meet devices=3 unreadable=0 entries=2
  server "meet.jit.si" tenant="" kind="" devices=2 flagged=2 wrong_server block
  server "jitsi.example.org" tenant="" kind="" devices=1 flagged=0  
element devices=1 unreadable=1 entries=0
teams devices=1 unreadable=0 entries=2
  account "" tenant="" kind="personal" devices=1 flagged=1 personal_account warn
  account "example.org" tenant="72f988bf-86f1-41af-91ab-2d7cd011db47" kind="work" devices=1 flagged=0  
`
		wantConnections(t, s, want)

		// Resent: nothing changes.
		ingest(t, s, "dev-1", at(2*time.Hour), batch1...)
		wantConnections(t, s, want)

		// A newer report replaces the app's state on that device.
		ingest(t, s, "dev-1", at(2*time.Hour), appConnection(2, at(90*time.Minute), &vcguardv1.AppConnection{
			AppId: "jitsi-meet", Servers: []string{"jitsi.example.org"},
		}))
		wantConnections(t, s, `jitsi-meet devices=3 unreadable=0 entries=2
  server "jitsi.example.org" tenant="" kind="" devices=2 flagged=0  
  server "meet.jit.si" tenant="" kind="" devices=1 flagged=1 wrong_server block
element devices=1 unreadable=1 entries=0
teams devices=1 unreadable=0 entries=2
  account "" tenant="" kind="personal" devices=1 flagged=1 personal_account warn
  account "example.org" tenant="72f988bf-86f1-41af-91ab-2d7cd011db47" kind="work" devices=1 flagged=0  
`)

		// Deleting a device deletes its state.
		if err := store.Exec(t.Context(), s, `DELETE FROM devices WHERE id = 'dev-3'`); err != nil {
			t.Fatal(err)
		}
		wantConnections(t, s, `jitsi-meet devices=2 unreadable=0 entries=1
  server "jitsi.example.org" tenant="" kind="" devices=2 flagged=0  
`)
		if n := count(t, s, `SELECT COUNT(*) FROM device_connection_items WHERE device_id = 'dev-3'`); n != 0 {
			t.Errorf("%d connection rows of a deleted device", n)
		}

		// Retention: dev-2's report was received at 1h, dev-1's at 2h.
		if _, err := s.PurgeEvents(t.Context(), at(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		wantConnections(t, s, `jitsi-meet devices=1 unreadable=0 entries=1
  server "jitsi.example.org" tenant="" kind="" devices=1 flagged=0  
`)
		if _, err := s.PurgeEvents(t.Context(), at(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantConnections(t, s, "")
		if n := count(t, s, `SELECT COUNT(*) FROM device_connection_items`); n != 0 {
			t.Errorf("%d connection rows left after purging every event", n)
		}
	})
}

// Past the per-device caps the events are stored and the state change is
// refused whole, with its reason; other devices are not affected.
func TestConnectionCaps(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ref := &refusals{n: map[string]int{}}
		s.Refused = ref.hook
		newDevice(t, s, "dev-1", "one")
		newDevice(t, s, "dev-2", "two")
		seq := uint64(0)
		next := func() uint64 { seq++; return seq }

		// Apps without end.
		var evs []*vcguardv1.Event
		for i := range store.MaxConnectionApps + 5 {
			evs = append(evs, appConnection(next(), at(time.Minute), &vcguardv1.AppConnection{
				AppId: fmt.Sprintf("app-%03d", i), Servers: []string{"a.example.org"}}))
		}
		ingest(t, s, "dev-1", at(time.Hour), evs...)
		if n := count(t, s, `SELECT COUNT(*) FROM device_connections WHERE device_id = 'dev-1'`); n != store.MaxConnectionApps {
			t.Errorf("%d apps with connection state, want the cap %d", n, store.MaxConnectionApps)
		}
		if n := ref.get(store.RefusedConnectionRows); n != 5 {
			t.Errorf("%d row refusals, want 5", n)
		}
		// An app already known may still report again.
		ingest(t, s, "dev-1", at(time.Hour), appConnection(next(), at(2*time.Minute), &vcguardv1.AppConnection{
			AppId: "app-000", Servers: []string{"b.example.org", "c.example.org"}}))
		if n := count(t, s, `SELECT COUNT(*) FROM device_connection_items WHERE device_id = 'dev-1' AND app_id = 'app-000'`); n != 2 {
			t.Errorf("app-000 has %d rows after its new report, want 2", n)
		}

		// Servers without end: refused whole, the app keeps its state.
		many := make([]string, store.MaxConnectionItems)
		for i := range many {
			many[i] = fmt.Sprintf("h%d.example.org", i)
		}
		ingest(t, s, "dev-1", at(time.Hour), appConnection(next(), at(3*time.Minute), &vcguardv1.AppConnection{AppId: "app-001", Servers: many}))
		if n := ref.get(store.RefusedConnectionRows); n != 6 {
			t.Errorf("%d row refusals, want 6", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM device_connection_items WHERE device_id = 'dev-1'`); n > store.MaxConnectionItems || n != store.MaxConnectionApps+1 {
			t.Errorf("%d connection rows on dev-1, want %d", n, store.MaxConnectionApps+1)
		}

		// A value no host name can be.
		ingest(t, s, "dev-1", at(time.Hour), appConnection(next(), at(4*time.Minute), &vcguardv1.AppConnection{
			AppId: "app-002", Servers: []string{strings.Repeat("x", store.MaxConnectionValue+1)}}))
		ingest(t, s, "dev-1", at(time.Hour), appConnection(next(), at(4*time.Minute), &vcguardv1.AppConnection{AppId: ""}))
		if n := ref.get(store.RefusedConnectionValue); n != 2 {
			t.Errorf("%d value refusals, want 2", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM device_connection_items WHERE device_id = 'dev-1' AND app_id = 'app-002'`); n != 1 {
			t.Errorf("app-002 has %d rows after a refused report, want its earlier 1", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM events WHERE device_id = 'dev-1'`); n != int64(seq) {
			t.Errorf("%d events stored, want every one (%d)", n, seq)
		}

		// dev-2 is not affected by dev-1's state.
		ingest(t, s, "dev-2", at(time.Hour), appConnection(1, at(time.Minute), &vcguardv1.AppConnection{AppId: "app-000", Servers: []string{"a.example.org"}}))
		if n := count(t, s, `SELECT COUNT(*) FROM device_connections WHERE device_id = 'dev-2'`); n != 1 {
			t.Errorf("dev-2 has %d apps with connection state, want 1", n)
		}
	})
}

// The fleet counts are bounded: at most MaxConnectionFleetEntries entries
// per app, the total counted.
func TestConnectionsBounded(t *testing.T) {
	s := openSQLite(t)
	extra := 7
	for d := range 4 {
		id := fmt.Sprintf("dev-%d", d)
		newDevice(t, s, id, id)
		var hosts []string
		for h := range (store.MaxConnectionFleetEntries + extra) / 4 {
			hosts = append(hosts, fmt.Sprintf("h%d-%d.example.org", d, h))
		}
		hosts = append(hosts, "shared.example.org")
		ingest(t, s, id, at(time.Hour), appConnection(1, at(time.Minute), &vcguardv1.AppConnection{AppId: "jitsi-meet", Servers: hosts}))
	}
	apps, err := s.Connections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 {
		t.Fatalf("%d apps, want 1", len(apps))
	}
	a := apps[0]
	if len(a.Entries) != store.MaxConnectionFleetEntries {
		t.Errorf("%d entries, want the bound %d", len(a.Entries), store.MaxConnectionFleetEntries)
	}
	if want := 4*((store.MaxConnectionFleetEntries+extra)/4) + 1; a.EntriesTotal != want {
		t.Errorf("EntriesTotal = %d, want %d", a.EntriesTotal, want)
	}
	if a.Entries[0].Value != "shared.example.org" || a.Entries[0].Devices != 4 {
		t.Errorf("first entry = %+v, want the server on most devices", a.Entries[0])
	}
}

func browserPolicy(seq uint64, when time.Time, origins uint32) *vcguardv1.Event {
	return &vcguardv1.Event{Seq: seq, Time: timestamppb.New(when), Detail: &vcguardv1.Event_BrowserPolicy{
		BrowserPolicy: &vcguardv1.BrowserPolicy{Mode: "enforce", AllowedOrigins: origins}}}
}

// LatestEvent finds a device's newest browser_policy however many events
// came after it; it is gone with the event (retention) and the device.
func TestLatestEvent(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t)
		ctx := t.Context()
		newDevice(t, s, "dev-1", "one")
		newDevice(t, s, "dev-2", "two")
		if _, err := s.LatestEvent(ctx, "dev-1", "browser_policy"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LatestEvent before any = %v, want ErrNotFound", err)
		}
		evs := []*vcguardv1.Event{browserPolicy(1, at(time.Minute), 2)}
		evs = append(evs, batchOf(2, 50)...)
		evs = append(evs, browserPolicy(52, at(time.Hour), 3))
		evs = append(evs, batchOf(53, 50)...)
		ingest(t, s, "dev-1", at(time.Hour), evs...)
		ingest(t, s, "dev-1", at(2*time.Hour), evs...) // resent: nothing changes
		ingest(t, s, "dev-2", at(3*time.Hour), browserPolicy(1, at(time.Minute), 7))
		e, err := s.LatestEvent(ctx, "dev-1", "browser_policy")
		if err != nil || e.Seq != 52 || e.Event.GetBrowserPolicy().GetAllowedOrigins() != 3 {
			t.Fatalf("LatestEvent = seq %d %v, %v; want seq 52 with 3 origins", e.Seq, e.Event, err)
		}
		if _, err := s.LatestEvent(ctx, "dev-1", "app_started"); err == nil {
			t.Error("LatestEvent of a type the store does not point at: no error")
		}
		if err := store.Exec(ctx, s, `DELETE FROM devices WHERE id = 'dev-2'`); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM device_latest_events WHERE device_id = 'dev-2'`); n != 0 {
			t.Errorf("%d pointers of a deleted device", n)
		}
		if _, err := s.PurgeEvents(ctx, at(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LatestEvent(ctx, "dev-1", "browser_policy"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LatestEvent after retention = %v, want ErrNotFound", err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM device_latest_events`); n != 0 {
			t.Errorf("%d pointers left after purging their events", n)
		}
	})
}
