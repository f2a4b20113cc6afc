package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// The fleet views' reads (sorting, the app and last-seen filters, the
// overview's breakdowns) and the group change, on both stores.

func TestFleetViewsSQLite(t *testing.T) {
	t.Parallel()
	runFleetViews(t, openSQLite)
}

func TestFleetViewsPostgres(t *testing.T) {
	t.Parallel()
	postgresDSN(t)
	runFleetViews(t, openPostgres)
}

func runFleetViews(t *testing.T, open opener) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"SortedPaging", testSortedPaging},
		{"AppAndSeenFilters", testAppAndSeenFilters},
		{"Breakdowns", testBreakdowns},
		{"SetDeviceGroup", testSetDeviceGroup},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// fleet makes 9 devices: dev-0..dev-8 with hostnames in reverse order,
// OS and group in thirds, last seen i minutes after t0, policy 8-i, and
// running apps whose worst verdicts differ.
func fleet(t *testing.T, s *store.Store) {
	t.Helper()
	for i := range 9 {
		d := store.Device{ID: fmt.Sprintf("dev-%d", i), Hostname: fmt.Sprintf("host-%d", 8-i), OS: []string{"linux", "darwin", "windows"}[i%3],
			Group: []string{"eng", "", "sales"}[i/3], Enrolled: at(0)}
		if err := s.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		if err := store.ExecForTest(t.Context(), s, `UPDATE devices SET connected = 1, last_seen = $1, policy_version = $2 WHERE id = $3`,
			at(time.Duration(i)*time.Minute).UnixMicro(), 8-i, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	rawApp(t, s, "dev-0", 1, true, "zoom", "forbidden")
	rawApp(t, s, "dev-1", 2, true, "zoom", "approved")
	rawApp(t, s, "dev-2", 3, true, "teams", "outdated")
	rawApp(t, s, "dev-2", 4, true, "zoom", "approved")
	rawApp(t, s, "dev-3", 5, false, "zoom", "forbidden") // stopped: not counted
	rawApp(t, s, "dev-4", 6, true, "chrome", "unlisted")
}

func testSortedPaging(t *testing.T, s *store.Store) {
	fleet(t, s)
	for _, c := range []struct {
		sort string
		want []string
	}{
		{"", []string{"dev-8", "dev-7", "dev-6", "dev-5", "dev-4", "dev-3", "dev-2", "dev-1", "dev-0"}},
		{"-hostname", []string{"dev-0", "dev-1", "dev-2", "dev-3", "dev-4", "dev-5", "dev-6", "dev-7", "dev-8"}},
		{"last_seen", []string{"dev-0", "dev-1", "dev-2", "dev-3", "dev-4", "dev-5", "dev-6", "dev-7", "dev-8"}},
		{"-last_seen", []string{"dev-8", "dev-7", "dev-6", "dev-5", "dev-4", "dev-3", "dev-2", "dev-1", "dev-0"}},
		{"policy", []string{"dev-8", "dev-7", "dev-6", "dev-5", "dev-4", "dev-3", "dev-2", "dev-1", "dev-0"}},
		// darwin (1, 4, 7), linux (0, 3, 6), windows (2, 5, 8); by hostname within.
		{"os", []string{"dev-7", "dev-4", "dev-1", "dev-6", "dev-3", "dev-0", "dev-8", "dev-5", "dev-2"}},
		{"-group", []string{"dev-6", "dev-7", "dev-8", "dev-0", "dev-1", "dev-2", "dev-3", "dev-4", "dev-5"}},
		// forbidden, outdated, unlisted, approved, then none (by hostname desc).
		{"-verdict", []string{"dev-0", "dev-2", "dev-4", "dev-1", "dev-3", "dev-5", "dev-6", "dev-7", "dev-8"}},
	} {
		o, err := store.ParseDeviceSort(c.sort)
		if err != nil {
			t.Fatalf("ParseDeviceSort(%q): %v", c.sort, err)
		}
		if o.String() != c.sort {
			t.Errorf("ParseDeviceSort(%q).String() = %q", c.sort, o.String())
		}
		for _, limit := range []int{2, 4, 100} {
			q := store.DeviceQuery{Sort: o, Limit: limit}
			got := walkDevices(t, s, q, nil)
			if !slices.Equal(got, c.want) {
				t.Errorf("sort %q, pages of %d: %v\nwant %v", c.sort, limit, got, c.want)
			}
			// Back from the last page to the first, through the cursors'
			// text form.
			var last store.DevicePage
			for q.After = nil; ; {
				p, err := s.ListDevices(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				last = p
				if p.Next == nil {
					break
				}
				k, err := store.ParseDeviceKey(p.Next.String())
				if err != nil {
					t.Fatal(err)
				}
				q.After = &k
			}
			back := idsOf(last)
			for p := last; p.Prev != nil; {
				k, err := store.ParseDeviceKey(p.Prev.String())
				if err != nil {
					t.Fatal(err)
				}
				if p, err = s.ListDevices(t.Context(), store.DeviceQuery{Sort: o, Limit: limit, Before: &k}); err != nil {
					t.Fatal(err)
				}
				back = append(idsOf(p), back...)
			}
			if !slices.Equal(back, c.want) {
				t.Errorf("sort %q, pages of %d, backwards: %v\nwant %v", c.sort, limit, back, c.want)
			}
		}
	}
	// A cursor of one order is refused in another.
	p, err := s.ListDevices(t.Context(), store.DeviceQuery{Sort: store.DeviceSort{Key: "os"}, Limit: 2})
	if err != nil || p.Next == nil {
		t.Fatalf("first page: %v", err)
	}
	if _, err := s.ListDevices(t.Context(), store.DeviceQuery{Limit: 2, After: p.Next}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("an os cursor in the hostname order: %v, want ErrBadCursor", err)
	}
	for _, bad := range []string{"name", "-", "--os", "hostname;drop"} {
		if _, err := store.ParseDeviceSort(bad); err == nil {
			t.Errorf("ParseDeviceSort(%q) accepted", bad)
		}
	}
}

func testAppAndSeenFilters(t *testing.T, s *store.Store) {
	fleet(t, s)
	for _, c := range []struct {
		name string
		q    store.DeviceQuery
		want []string
	}{
		{"app", store.DeviceQuery{App: "zoom"}, []string{"dev-2", "dev-1", "dev-0"}},
		{"app and verdict: one instance", store.DeviceQuery{App: "zoom", Verdict: "approved"}, []string{"dev-2", "dev-1"}},
		{"app and verdict of another app", store.DeviceQuery{App: "teams", Verdict: "approved"}, nil},
		{"verdict", store.DeviceQuery{Verdict: "forbidden"}, []string{"dev-0"}},
		{"seen since", store.DeviceQuery{SeenSince: at(7 * time.Minute)}, []string{"dev-8", "dev-7"}},
		{"seen before", store.DeviceQuery{SeenBefore: at(2 * time.Minute)}, []string{"dev-1", "dev-0"}},
		{"seen between", store.DeviceQuery{SeenSince: at(time.Minute), SeenBefore: at(3 * time.Minute)}, []string{"dev-2", "dev-1"}},
	} {
		got := walkDevices(t, s, c.q, nil)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if n, err := s.CountDevices(t.Context(), c.q); err != nil || n != len(c.want) {
			t.Errorf("%s: CountDevices = %d, %v; want %d", c.name, n, err, len(c.want))
		}
	}
	apps, err := s.AppFacets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.AppFacet{{"chrome", "chrome app"}, {"teams", "teams app"}, {"zoom", "zoom app"}}; !slices.Equal(apps, want) {
		t.Errorf("AppFacets = %v, want %v", apps, want)
	}
}

func testBreakdowns(t *testing.T, s *store.Store) {
	fleet(t, s)
	now := at(8 * time.Minute)
	// Online: seen within 3 min 30 s of now: dev-5 .. dev-8.
	byOS, err := s.ComplianceBy(t.Context(), "os", now, 3*time.Minute+30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Breakdown{{"darwin", 3, 1, 1}, {"linux", 3, 1, 1}, {"windows", 3, 2, 2}}
	if !slices.Equal(byOS, want) {
		t.Errorf("by OS = %v, want %v", byOS, want)
	}
	// All online: dev-0 (forbidden) and dev-2 (outdated) are not compliant.
	byGroup, err := s.ComplianceBy(t.Context(), "group", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Breakdown{{"", 3, 3, 3}, {"eng", 3, 3, 1}, {"sales", 3, 3, 3}}; !slices.Equal(byGroup, want) {
		t.Errorf("by group = %v, want %v", byGroup, want)
	}
	if _, err := s.ComplianceBy(t.Context(), "hostname; --", now, time.Hour); err == nil {
		t.Error("ComplianceBy accepted an unknown column")
	}
	byVerdict, err := s.DevicesByVerdict(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.VerdictCount{{"forbidden", 1}, {"outdated", 1}, {"unlisted", 1}, {"approved", 1}, {"", 5}}; !slices.Equal(byVerdict, want) {
		t.Errorf("by verdict = %v, want %v", byVerdict, want)
	}
	byApp, err := s.RunningByApp(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.AppBreakdown{{"zoom", "zoom app", 3, 1}, {"chrome", "chrome app", 1, 0}, {"teams", "teams app", 1, 1}}; !slices.Equal(byApp, want) {
		t.Errorf("by app = %v, want %v", byApp, want)
	}
	top, err := s.TopFindings(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Finding{{"chrome", "chrome app", "unlisted", 1}, {"teams", "teams app", "outdated", 1}, {"zoom", "zoom app", "forbidden", 1}}; !slices.Equal(top, want) {
		t.Errorf("top findings = %v, want %v", top, want)
	}
	// Not reporting: silent 5 min or more at now, dev-0 .. dev-3; dev-1
	// is revoked and left out.
	if err := store.ExecForTest(t.Context(), s, `UPDATE devices SET revoked_at = 1 WHERE id = 'dev-1'`); err != nil {
		t.Fatal(err)
	}
	silent, total, err := s.NotReporting(t.Context(), now, 5*time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range silent {
		ids = append(ids, d.ID)
	}
	if total != 3 || !slices.Equal(ids, []string{"dev-0", "dev-2"}) {
		t.Errorf("NotReporting = %v of %d, want [dev-0 dev-2] of 3", ids, total)
	}
}

func testSetDeviceGroup(t *testing.T, s *store.Store) {
	newDevice(t, s, "d1", "one")
	audit := store.AuditEntry{At: at(0), Actor: "alice", Action: "device_group_set", Target: "device:d1", Detail: []byte(`{"group":"eng"}`)}
	d, err := s.SetDeviceGroup(t.Context(), "d1", "eng", audit)
	if err != nil || d.Group != "eng" {
		t.Fatalf("SetDeviceGroup = %+v, %v", d, err)
	}
	// An unknown device: nothing changes, nothing is audited.
	if _, err := s.SetDeviceGroup(t.Context(), "d404", "eng", audit); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown device: %v, want ErrNotFound", err)
	}
	// An audit entry that cannot be written: the change is rolled back.
	if _, err := s.SetDeviceGroup(t.Context(), "d1", "sales", store.AuditEntry{At: at(0), Actor: "alice"}); err == nil {
		t.Error("a change without its audit entry succeeded")
	}
	if d, err := s.DeviceRecord(t.Context(), "d1"); err != nil || d.Group != "eng" {
		t.Errorf("after a failed change: group %q, %v; want eng", d.Group, err)
	}
	log, err := s.AuditLog(t.Context(), store.AuditFilter{Action: "device_group_set"})
	if err != nil || len(log) != 1 || log[0].Target != "device:d1" {
		t.Errorf("audit log = %+v, %v", log, err)
	}
}
