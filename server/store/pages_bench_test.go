package store_test

import (
	"fmt"
	"testing"

	"github.com/vcguard/vcguard/server/store"
)

// benchFleet lays out n devices with apps running and media rows each, in
// SQL (the write path's budgets and speed are not what is measured).
func benchFleet(b *testing.B, n, apps, media int) *store.Store {
	b.Helper()
	s, err := store.OpenSQLite(b.Context(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for _, q := range []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO devices (id, hostname, os, enrolled_at) SELECT 'id-' || i, 'host-' || i, 'linux', 1 FROM n`, n-1),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, running)
			SELECT d.id, n.i, 1, 'app' || (n.i %% 7), 'An app', '/opt/some/long/path/to/the/app/executable', 'approved', 1 FROM devices d, n`, apps-1),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO device_media (device_id, kind, source, device, pid, process, app_id, since)
			SELECT d.id, 'camera', 'pipewire', '/dev/video0', n.i, '/usr/lib/some/process/name', '', 1 FROM devices d, n`, media-1),
	} {
		if err := store.ExecForTest(b.Context(), s, q); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkDeviceList compares what one device list costs: the unbounded
// Devices (every app and media row, what GET /api/v1/devices and
// live.json did) against one page of ListDevices and against walking the
// whole fleet a page of 1,000 at a time. Read B/op.
func BenchmarkDeviceList(b *testing.B) {
	s := benchFleet(b, 2000, 10, 50)
	b.Run("baseline-Devices-all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			devs, err := s.Devices(b.Context())
			if err != nil || len(devs) != 2000 {
				b.Fatal(len(devs), err)
			}
		}
	})
	b.Run("ListDevices-page-100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.ListDevices(b.Context(), store.DeviceQuery{})
			if err != nil || len(p.Devices) != 100 {
				b.Fatal(len(p.Devices), err)
			}
		}
	})
	b.Run("ListDevices-walk-all-1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q, total := store.DeviceQuery{Limit: 1000}, 0
			for {
				p, err := s.ListDevices(b.Context(), q)
				if err != nil {
					b.Fatal(err)
				}
				total += len(p.Devices)
				if p.Next == nil {
					break
				}
				q.After = p.Next
			}
			if total != 2000 {
				b.Fatal(total)
			}
		}
	})
	b.Run("CountFleet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.CountFleet(b.Context(), at(0), 90e9); err != nil {
				b.Fatal(err)
			}
		}
	})
}
