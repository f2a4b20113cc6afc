package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The bounded reads, on both stores.

func TestPagesSQLite(t *testing.T) {
	t.Parallel()
	runPages(t, openSQLite)
}

func TestPagesPostgres(t *testing.T) {
	t.Parallel()
	postgresDSN(t)
	runPages(t, openPostgres)
}

func runPages(t *testing.T, open opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"DevicePaging", testDevicePaging},
		{"DeviceFilters", testDeviceFilters},
		{"DeviceSummaries", testDeviceSummaries},
		{"DeviceDetailCapped", testDeviceDetailCapped},
		{"EventPaging", testEventPaging},
		{"EventByteCap", testEventByteCap},
		{"Inventory", testInventory},
		{"BadCursor", testBadCursor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// walkDevices pages forward through q, calling between after each page,
// and returns the ids in the order seen.
func walkDevices(t *testing.T, s *store.Store, q store.DeviceQuery, between func(page int)) []string {
	t.Helper()
	var ids []string
	for page := 0; ; page++ {
		p, err := s.ListDevices(t.Context(), q)
		if err != nil {
			t.Fatalf("ListDevices: %v", err)
		}
		if limit := cmp.Or(q.Limit, store.DefaultDeviceLimit); len(p.Devices) > limit {
			t.Fatalf("page of %d devices, limit %d", len(p.Devices), q.Limit)
		}
		for _, d := range p.Devices {
			ids = append(ids, d.ID)
		}
		if page > 0 && p.Prev == nil {
			t.Errorf("page %d has no previous page", page)
		}
		if p.Next == nil {
			return ids
		}
		if between != nil {
			between(page)
		}
		q.After = p.Next
		if page > 1000 {
			t.Fatal("paging does not end")
		}
	}
}

func testDevicePaging(t *testing.T, s *store.Store) {
	var want []string
	for i := range 25 {
		// Duplicate hostnames: the id breaks the tie.
		id := fmt.Sprintf("dev-%02d", i)
		newDevice(t, s, id, fmt.Sprintf("host-%02d", i/2))
		want = append(want, id)
	}
	got := walkDevices(t, s, store.DeviceQuery{Limit: 7}, func(page int) {
		if page == 1 {
			// One device sorts after the cursor and must show up; one
			// before it must not, and nothing shows twice.
			newDevice(t, s, "dev-zz", "host-zz")
			newDevice(t, s, "dev-aa", "a-early")
			want = append(want, "dev-zz")
		}
	})
	if !slices.Equal(got, want) {
		t.Errorf("walked %v\nwant %v", got, want)
	}

	// Backwards from the end, page by page, gives the same devices.
	p, err := s.ListDevices(t.Context(), store.DeviceQuery{Limit: 7, Before: &store.DeviceKey{Hostname: "\U0010FFFF", ID: ""}})
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	for {
		back = append(slices.Clone(idsOf(p)), back...)
		if p.Prev == nil {
			break
		}
		if p, err = s.ListDevices(t.Context(), store.DeviceQuery{Limit: 7, Before: p.Prev}); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]string{"dev-aa"}, want...)
	if !slices.Equal(back, all) {
		t.Errorf("backwards %v\nwant %v", back, all)
	}

	// A cursor survives its text form.
	k := store.DeviceKey{Hostname: "h", ID: "x"}
	if got, err := store.ParseDeviceKey(k.String()); err != nil || got != k {
		t.Errorf("ParseDeviceKey(String()) = %v, %v", got, err)
	}
}

func idsOf(p store.DevicePage) []string {
	var out []string
	for _, d := range p.Devices {
		out = append(out, d.ID)
	}
	return out
}

func testDeviceFilters(t *testing.T, s *store.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	for i, h := range []string{"Alpha-1", "beta_2", "gamma%3"} {
		d := store.Device{ID: fmt.Sprintf("d%d", i), Hostname: h, OS: []string{"linux", "darwin", "windows"}[i],
			Enrolled: at(0), Group: []string{"", "eng", "eng"}[i]}
		if err := s.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	// d0 online, d1 connected but stale, d2 never seen.
	for dev, seen := range map[string]time.Time{"d0": now.Add(-10 * time.Second), "d1": now.Add(-time.Hour)} {
		if err := store.ExecForTest(ctx, s, `UPDATE devices SET connected = 1, last_seen = $1 WHERE id = $2`, seen.UnixMicro(), dev); err != nil {
			t.Fatal(err)
		}
	}
	rawApp(t, s, "d1", 10, true, "zoom", "forbidden")
	for _, c := range []struct {
		q    store.DeviceQuery
		want []string
	}{
		{store.DeviceQuery{Q: "alpha"}, []string{"d0"}},
		{store.DeviceQuery{Q: "_"}, []string{"d1"}},
		{store.DeviceQuery{Q: "%"}, []string{"d2"}},
		{store.DeviceQuery{Q: "D2"}, []string{"d2"}},
		{store.DeviceQuery{OS: "darwin"}, []string{"d1"}},
		{store.DeviceQuery{Group: "eng"}, []string{"d1", "d2"}},
		{store.DeviceQuery{Verdict: "forbidden"}, []string{"d1"}},
		{store.DeviceQuery{Status: "online", Now: now, StaleAfter: 90 * time.Second}, []string{"d0"}},
		{store.DeviceQuery{Status: "offline", Now: now, StaleAfter: 90 * time.Second}, []string{"d1", "d2"}},
		{store.DeviceQuery{Status: "stale", Now: now, StaleAfter: 90 * time.Second}, []string{"d1", "d2"}},
		{store.DeviceQuery{Group: "eng", Limit: 1}, []string{"d1", "d2"}},
	} {
		if got := walkDevices(t, s, c.q, nil); !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.q, got, c.want)
		}
	}
	if _, err := s.ListDevices(ctx, store.DeviceQuery{Status: "asleep", Now: now, StaleAfter: time.Second}); err == nil {
		t.Error("status asleep accepted")
	}
	c, err := s.CountFleet(ctx, now, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c != (store.FleetCounts{Total: 3, Online: 1, Stale: 2, Compliant: 1}) {
		t.Errorf("CountFleet = %+v", c)
	}
	f, err := s.Facets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.OSes, []string{"darwin", "linux", "windows"}) || !slices.Equal(f.Groups, []string{"eng"}) {
		t.Errorf("Facets = %+v", f)
	}
}

func testDeviceSummaries(t *testing.T, s *store.Store) {
	newDevice(t, s, "a", "a")
	newDevice(t, s, "b", "b")
	// 12 distinct apps, app00 twice; app05 forbidden; a stopped one.
	for i := range 12 {
		v := "approved"
		if i == 5 {
			v = "forbidden"
		}
		rawApp(t, s, "a", 100+i, true, fmt.Sprintf("app%02d", i), v)
	}
	rawApp(t, s, "a", 99, true, "app00", "approved")
	rawApp(t, s, "a", 98, false, "app99", "forbidden")
	rawMedia(t, s, "a", 100, "app00")
	rawMedia(t, s, "a", 105, "app05")
	rawMedia(t, s, "a", 7, "")
	p, err := s.ListDevices(t.Context(), store.DeviceQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Devices) != 2 || p.Next != nil || p.Prev != nil {
		t.Fatalf("page = %+v", p)
	}
	a, b := p.Devices[0], p.Devices[1]
	if a.RunningApps != 13 || a.MediaInUse != 3 || a.WorstVerdict != "forbidden" || len(a.Running) != store.MaxRunningSummary {
		t.Errorf("a = running %d media %d worst %q summary %d", a.RunningApps, a.MediaInUse, a.WorstVerdict, len(a.Running))
	}
	if a.Running[0].AppID != "app05" || a.Running[1].AppID != "app00" || a.Running[1].Instances != 2 {
		t.Errorf("a.Running = %+v", a.Running)
	}
	if a.Apps != nil || a.Media != nil {
		t.Error("a page of devices carries app or media rows")
	}
	if b.RunningApps != 0 || b.MediaInUse != 0 || b.WorstVerdict != "" || b.Running != nil {
		t.Errorf("b = %+v", b)
	}
	media, err := s.UnapprovedMedia(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range media {
		got = append(got, fmt.Sprintf("%s/%s/%d/%s", m.DeviceID, m.Kind, m.PID, m.Verdict))
	}
	slices.Sort(got)
	if want := []string{"a/camera/105/forbidden", "a/camera/7/"}; !slices.Equal(got, want) {
		t.Errorf("UnapprovedMedia = %v, want %v", got, want)
	}
}

// rawApp, rawMedia and rawEvent insert rows as the write path would,
// without its per-device budgets.
func rawApp(t *testing.T, s *store.Store, dev string, pid int, running bool, app, verdict string) {
	t.Helper()
	r := 0
	if running {
		r = 1
	}
	if err := store.ExecForTest(t.Context(), s, `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, running)
		VALUES ($1, $2, $3, $4, $5, '/opt/x', $6, $7)`, dev, pid, at(time.Duration(pid)).UnixMicro(), app, app+" app", verdict, r); err != nil {
		t.Fatalf("insert app: %v", err)
	}
}

func rawMedia(t *testing.T, s *store.Store, dev string, pid int, app string) {
	t.Helper()
	if err := store.ExecForTest(t.Context(), s, `INSERT INTO device_media (device_id, kind, source, device, pid, process, app_id, since)
		VALUES ($1, 'camera', 'v4l2', '/dev/video0', $2, '/usr/bin/p', $3, $4)`, dev, pid, app, at(0).UnixMicro()); err != nil {
		t.Fatalf("insert media: %v", err)
	}
}

func rawEvent(t *testing.T, s *store.Store, dev string, e *vcguardv1.Event) {
	t.Helper()
	payload, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ExecForTest(t.Context(), s, `INSERT INTO events (device_id, seq, type, time, received_at, payload)
		VALUES ($1, $2, $3, $4, $4, $5)`, dev, int64(e.GetSeq()), store.EventType(e), e.GetTime().AsTime().UnixMicro(), payload); err != nil {
		t.Fatalf("insert event: %v", err)
	}
}

func testDeviceDetailCapped(t *testing.T, s *store.Store) {
	newDevice(t, s, "big", "big")
	for i := range store.MaxDeviceApps + 20 {
		rawApp(t, s, "big", 1000+i, true, "zoom", "approved")
	}
	for i := range store.MaxDeviceMedia + 5 {
		rawMedia(t, s, "big", i, "")
	}
	for i := range 30 {
		rawEvent(t, s, "big", policyApplied(uint64(i+1), at(time.Second), 1))
	}
	d, err := s.Device(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Apps) != store.MaxDeviceApps || d.AppsTotal != store.MaxDeviceApps+20 || !d.AppsTruncated() {
		t.Errorf("apps: %d loaded of %d", len(d.Apps), d.AppsTotal)
	}
	if len(d.Media) != store.MaxDeviceMedia || d.MediaTotal != store.MaxDeviceMedia+5 || !d.MediaTruncated() {
		t.Errorf("media: %d loaded of %d", len(d.Media), d.MediaTotal)
	}
	if n, err := s.EventCount(t.Context(), "big"); err != nil || n != 30 {
		t.Errorf("EventCount = %d, %v; want 30", n, err)
	}
	if n, err := s.EventCount(t.Context(), "nobody"); err != nil || n != 0 {
		t.Errorf("EventCount(nobody) = %d, %v", n, err)
	}
	r, err := s.DeviceRecord(t.Context(), "big")
	if err != nil || r.Apps != nil || r.Hostname != "big" {
		t.Errorf("DeviceRecord = %+v, %v", r, err)
	}
}

func eventKey(e store.StoredEvent) string { return fmt.Sprintf("%s/%d", e.DeviceID, e.Seq) }

func testEventPaging(t *testing.T, s *store.Store) {
	newDevice(t, s, "a", "a")
	newDevice(t, s, "b", "b")
	// Three events share each time, on both devices: the cursor must
	// break ties by device and sequence.
	want := map[string]bool{}
	for _, dev := range []string{"a", "b"} {
		for i := range 30 {
			rawEvent(t, s, dev, policyApplied(uint64(i+1), at(time.Duration(i/3)*time.Second), 1))
			want[fmt.Sprintf("%s/%d", dev, i+1)] = true
		}
	}
	seen := map[string]int{}
	f := store.EventFilter{Limit: 7}
	var prev *store.StoredEvent
	for page := 0; ; page++ {
		p, err := s.ListEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > 7 {
			t.Fatalf("page of %d", len(p.Events))
		}
		for _, e := range p.Events {
			seen[eventKey(e)]++
			if prev != nil && e.Time.After(prev.Time) {
				t.Errorf("%s after %s is newer", eventKey(e), eventKey(*prev))
			}
			prev = &e
		}
		if p.Next == nil {
			break
		}
		if page == 2 {
			// A newer event does not show up on older pages; an older
			// one does.
			rawEvent(t, s, "a", policyApplied(31, at(time.Hour), 1))
			rawEvent(t, s, "b", policyApplied(31, at(-time.Hour), 1))
			want["b/31"] = true
		}
		k, err := store.ParseEventKey(p.Next.String())
		if err != nil || k != *p.Next {
			t.Fatalf("ParseEventKey(%v) = %v, %v", *p.Next, k, err)
		}
		f.Before = &k
	}
	for k := range want {
		if seen[k] != 1 {
			t.Errorf("event %s seen %d times", k, seen[k])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d events, want %d", len(seen), len(want))
	}
	// One device's events, filtered by type.
	p, err := s.ListEvents(t.Context(), store.EventFilter{DeviceID: "b", Type: "policy_applied", Limit: 1000})
	if err != nil || len(p.Events) != 31 || p.Next != nil {
		t.Errorf("device b: %d events, next %v, %v", len(p.Events), p.Next, err)
	}
	// The limit is capped.
	if p, err := s.ListEvents(t.Context(), store.EventFilter{Limit: 1 << 30}); err != nil || len(p.Events) != 62 {
		t.Errorf("limit 2^30: %d events, %v", len(p.Events), err)
	}
}

func testEventByteCap(t *testing.T, s *store.Store) {
	newDevice(t, s, "a", "a")
	big := strings.Repeat("x", 1<<20)
	for i := range 10 {
		rawEvent(t, s, "a", &vcguardv1.Event{Seq: uint64(i + 1), Time: timestamppb.New(at(time.Duration(i) * time.Second)),
			Detail: &vcguardv1.Event_LocalPolicy{LocalPolicy: &vcguardv1.LocalPolicy{Files: []*vcguardv1.LocalPolicyFile{{Path: big}}}}})
	}
	total := 0
	f := store.EventFilter{Limit: 100}
	for {
		p, err := s.ListEvents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > 3 || len(p.Events) == 0 {
			t.Fatalf("a page of %d 1 MiB events under a 4 MiB cap", len(p.Events))
		}
		total += len(p.Events)
		if p.Next == nil {
			break
		}
		if !p.ByteCapped {
			t.Error("page cut without ByteCapped")
		}
		f.Before = p.Next
	}
	if total != 10 {
		t.Errorf("walked %d events, want 10", total)
	}
	// A single event larger than the cap still comes, alone.
	p, err := s.ListEvents(t.Context(), store.EventFilter{MaxBytes: 1000})
	if err != nil || len(p.Events) != 1 || p.Next == nil {
		t.Errorf("tiny cap: %d events, next %v, %v", len(p.Events), p.Next, err)
	}
}

func testInventory(t *testing.T, s *store.Store) {
	newDevice(t, s, "a", "a")
	newDevice(t, s, "b", "b")
	for _, r := range []struct {
		dev, app, verdict, version string
		pid, running, verified     int
	}{
		{"a", "zoom", "outdated", "5.0", 1, 0, 0},
		{"a", "zoom", "approved", "6.0", 2, 1, 1},
		{"b", "teams", "forbidden", "", 3, 1, 0},
		{"b", "teams", "approved", "", 4, 0, 1},
	} {
		if err := store.ExecForTest(t.Context(), s, `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, verdict, version, verified, running)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r.dev, r.pid, at(time.Duration(r.pid)*time.Minute).UnixMicro(), r.app, r.app, r.verdict,
			r.version, r.verified, r.running); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := s.Inventory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range inv {
		got = append(got, fmt.Sprintf("%s run=%d dev=%d v=%v out=%d unv=%d %v", a.AppID, a.Running, a.Devices, a.Versions, a.Outdated, a.Unverified, a.Verdicts))
	}
	// The newest instance is a running one before a stopped one.
	want := []string{"teams run=1 dev=1 v=[] out=0 unv=1 map[forbidden:1]", "zoom run=1 dev=1 v=[5.0 6.0] out=1 unv=1 map[approved:1]"}
	if !slices.Equal(got, want) {
		t.Errorf("Inventory =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func testBadCursor(t *testing.T, s *store.Store) {
	for _, c := range []string{"", "!!", "bm90IGpzb24", store.EventKey{DeviceID: "x"}.String(), strings.Repeat("A", 2000)} {
		if _, err := store.ParseDeviceKey(c); err == nil {
			t.Errorf("ParseDeviceKey(%q) accepted", c)
		}
	}
	if _, err := store.ParseEventKey(store.DeviceKey{Hostname: "h"}.String()); err == nil {
		t.Error("a device cursor parsed as an event cursor")
	}
}
