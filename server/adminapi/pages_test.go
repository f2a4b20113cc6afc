package adminapi_test

import (
	"fmt"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// devicePage, eventPage are pages of the JSON API's lists.
type devicePage struct {
	Devices    []apitypes.DeviceSummary `json:"devices"`
	NextCursor string                   `json:"next_cursor"`
}

type eventPage struct {
	Events     []apitypes.Event `json:"events"`
	NextCursor string           `json:"next_cursor"`
}

var pageT0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// addDevices creates n devices named prefix-0000 … directly in the
// database.
func (e *env) addDevices(t *testing.T, prefix string, n int) {
	t.Helper()
	e.te.Exec(t, n, `INSERT INTO devices (id, hostname, os, enrolled_at) VALUES ($1, $2, 'linux', $3)`, func(i int) []any {
		return []any{fmt.Sprintf("%s-id-%04d", prefix, i), fmt.Sprintf("%s-%04d", prefix, i), pageT0.UnixMicro()}
	})
}

// addEvents stores n events of device dev, each with a payload of about
// size bytes, one second apart.
func (e *env) addEvents(t *testing.T, dev string, n, size int) {
	t.Helper()
	e.te.Exec(t, n, `INSERT INTO events (device_id, seq, type, time, received_at, payload) VALUES ($1, $2, 'local_policy', $3, $3, $4)`,
		func(i int) []any {
			ev := &vcguardv1.Event{Seq: uint64(i + 1), Time: timestamppb.New(pageT0.Add(time.Duration(i) * time.Second)),
				Detail: &vcguardv1.Event_LocalPolicy{LocalPolicy: &vcguardv1.LocalPolicy{Files: []*vcguardv1.LocalPolicyFile{{Path: strings.Repeat("p", size)}}}}}
			payload, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			return []any{dev, i + 1, ev.GetTime().AsTime().UnixMicro(), payload}
		})
}

// TestDeviceListPaging: every device is listed exactly once across pages,
// with a device added between pages listed too.
func TestDeviceListPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	analyst := e.tokens[store.RoleAnalyst]
	e.addDevices(t, "host", 250)
	seen := map[string]int{}
	pages := 0
	for cursor := ""; ; pages++ {
		resp, b := e.do(t, "GET", "/api/v1/devices?limit=100&cursor="+url.QueryEscape(cursor), analyst, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, b)
		}
		p := decode[devicePage](t, b)
		if len(p.Devices) > 100 {
			t.Fatalf("page of %d devices", len(p.Devices))
		}
		for _, d := range p.Devices {
			seen[d.ID]++
		}
		if pages == 0 {
			e.addDevices(t, "zz-late", 1)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 251 || pages != 2 {
		t.Errorf("%d devices in %d pages, want 251 in 3", len(seen), pages+1)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	// The default page is 100; a limit above the maximum is refused,
	// naming the field and the maximum.
	_, b := e.do(t, "GET", "/api/v1/devices", analyst, nil)
	if p := decode[devicePage](t, b); len(p.Devices) != store.DefaultDeviceLimit || p.NextCursor == "" {
		t.Errorf("default page: %d devices, next %q", len(p.Devices), p.NextCursor)
	}
	for path, max := range map[string]int{"/api/v1/devices": 1000, "/api/v1/events": 1000, "/api/v1/audit": 1000} {
		resp, b := e.do(t, "GET", path+"?limit=1001", e.tokens[store.RoleAdmin], nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "limit") || !strings.Contains(string(b), fmt.Sprint(max)) {
			t.Errorf("%s?limit=1001: %d %s", path, resp.StatusCode, b)
		}
	}
	for _, q := range []string{"cursor=garbage", "status=asleep", "limit=-1"} {
		if resp, b := e.do(t, "GET", "/api/v1/devices?"+q, analyst, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("devices?%s: %d %s", q, resp.StatusCode, b)
		}
	}
	// Filters apply across pages.
	_, b = e.do(t, "GET", "/api/v1/devices?q=zz-late", analyst, nil)
	if p := decode[devicePage](t, b); len(p.Devices) != 1 || p.NextCursor != "" {
		t.Errorf("q=zz-late: %s", b)
	}
}

// TestFloodedDeviceBounded: a device with 10,000 media rows and 2,000 app
// rows does not swell the device list, and its detail is capped.
func TestFloodedDeviceBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	analyst := e.tokens[store.RoleAnalyst]
	e.addDevices(t, "flood", 3)
	dev := "flood-id-0001"
	e.te.Exec(t, 10000, `INSERT INTO device_media (device_id, kind, source, device, pid, process, app_id, since)
		VALUES ($1, 'camera', 'v4l2', '/dev/video0', $2, $3, '', $4)`, func(i int) []any {
		return []any{dev, i, "/usr/bin/" + strings.Repeat("x", 200), pageT0.UnixMicro()}
	})
	e.te.Exec(t, 2000, `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, running)
		VALUES ($1, $2, $3, 'zoom', 'Zoom', $4, 'forbidden', 1)`, func(i int) []any {
		return []any{dev, i, pageT0.UnixMicro(), "/opt/" + strings.Repeat("z", 200)}
	})
	e.addEvents(t, dev, 7, 10)

	resp, b := e.do(t, "GET", "/api/v1/devices", analyst, nil)
	listBytes := len(b)
	if resp.StatusCode != http.StatusOK || len(b) > 16<<10 {
		t.Fatalf("device list: %d, %d bytes", resp.StatusCode, len(b))
	}
	p := decode[devicePage](t, b)
	if len(p.Devices) != 3 || p.Devices[1].MediaInUse != 10000 || p.Devices[1].RunningApps != 2000 || p.Devices[1].WorstVerdict != "forbidden" {
		t.Errorf("device list = %s", b)
	}
	resp, b = e.do(t, "GET", "/api/v1/devices/"+dev, analyst, nil)
	d := decode[apitypes.Device](t, b)
	if resp.StatusCode != http.StatusOK || len(d.Media) != store.MaxDeviceMedia || !d.MediaTruncated || d.MediaTotal != 10000 ||
		len(d.Apps) != store.MaxDeviceApps || !d.AppsTruncated || d.AppsTotal != 2000 || d.EventsStored != 7 {
		t.Errorf("device detail: %d, %d media of %d, %d apps of %d, %d events", resp.StatusCode, len(d.Media), d.MediaTotal,
			len(d.Apps), d.AppsTotal, d.EventsStored)
	}
	t.Logf("device list %d bytes, flooded device detail %d bytes", listBytes, len(b))
}

// TestHugeEventsBounded: events of 1 MiB each come a few per page, every
// response under the byte cap, and paging walks all of them once.
func TestHugeEventsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	analyst := e.tokens[store.RoleAnalyst]
	e.addDevices(t, "big", 1)
	e.addEvents(t, "big-id-0000", 24, 1<<20)
	seen := map[uint64]int{}
	for cursor, pages := "", 0; ; pages++ {
		resp, b := e.do(t, "GET", "/api/v1/events?limit=1000&cursor="+url.QueryEscape(cursor), analyst, nil)
		if resp.StatusCode != http.StatusOK || len(b) > adminapi.MaxResponseBytes {
			t.Fatalf("page %d: %d, %d bytes", pages, resp.StatusCode, len(b))
		}
		p := decode[eventPage](t, b)
		if len(p.Events) == 0 || len(p.Events) > 4 {
			t.Fatalf("page %d: %d events of 1 MiB", pages, len(p.Events))
		}
		for _, ev := range p.Events {
			seen[ev.Seq]++
			if !ev.DetailTruncated || string(ev.Detail) != "null" {
				t.Errorf("event %d: a 1 MiB detail not left out", ev.Seq)
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
		if pages > 30 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 24 {
		t.Errorf("walked %d events, want 24", len(seen))
	}
	for seq, n := range seen {
		if n != 1 {
			t.Errorf("event %d seen %d times", seq, n)
		}
	}
}
