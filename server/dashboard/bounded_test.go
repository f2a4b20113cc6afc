package dashboard_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// addDevices creates n devices named prefix-00000 … directly in the
// database.
func (e *env) addDevices(t *testing.T, prefix string, n int) {
	t.Helper()
	e.te.Exec(t, n, `INSERT INTO devices (id, hostname, os, enrolled_at) VALUES ($1, $2, 'linux', $3)`, func(i int) []any {
		return []any{fmt.Sprintf("%s-id-%05d", prefix, i), fmt.Sprintf("%s-%05d", prefix, i), time.Now().UnixMicro()}
	})
}

var (
	deviceRow = regexp.MustCompile(`data-device="([^"]+)"`)
	nextLink  = regexp.MustCompile(`<a href="(/devices\?[^"]+)" id="next-page"`)
	prevLink  = regexp.MustCompile(`<a href="(/devices\?[^"]+)" id="prev-page"`)
)

// TestDevicesPaged: the devices page shows 100 devices with next and
// previous links that walk every device once; live.json carries one page
// and the count; the CSV export pages through all of them.
func TestDevicesPaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addDevices(t, "fleet", 2345)
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	seen := map[string]int{}
	var pages []string
	for path := "/devices?os=linux"; ; {
		pages = append(pages, path)
		_, body := b.get(path)
		rows := deviceRow.FindAllStringSubmatch(body, -1)
		if len(rows) == 0 || len(rows) > 100 {
			t.Fatalf("%s: %d devices", path, len(rows))
		}
		for _, m := range rows {
			seen[m[1]]++
		}
		m := nextLink.FindStringSubmatch(body)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
		if len(pages) > 30 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 2346 || len(pages) != 24 {
		t.Errorf("%d devices on %d pages, want 2346 on 24", len(seen), len(pages))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s shown %d times", id, n)
		}
	}
	// The last page's previous link leads to the page before it.
	_, last := b.get(pages[len(pages)-1])
	m := prevLink.FindStringSubmatch(last)
	if m == nil {
		t.Fatal("the last page has no previous link")
	}
	_, prev := b.get(html.UnescapeString(m[1]))
	_, want := b.get(pages[len(pages)-2])
	if got, want := deviceRow.FindAllString(prev, -1), deviceRow.FindAllString(want, -1); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("previous page shows %d devices, not those of the page before (%d)", len(got), len(want))
	}

	var live struct {
		Devices  []json.RawMessage `json:"devices"`
		Shown    int               `json:"shown"`
		Next     string            `json:"next_cursor"`
		Counters struct{ Total int }
	}
	_, body := b.get("/live.json")
	if err := json.Unmarshal([]byte(body), &live); err != nil || len(live.Devices) != 100 || live.Shown != 2346 || live.Counters.Total != 2346 || live.Next == "" {
		t.Errorf("live.json: %d devices, shown %d, total %d, next %q, %v", len(live.Devices), live.Shown, live.Counters.Total, live.Next, err)
	}
	if len(body) > 128<<10 {
		t.Errorf("live.json is %d bytes", len(body))
	}

	_, csvBody := b.get("/devices.csv")
	rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(rows) != 2347 {
		t.Errorf("devices.csv: %d rows, %v; want 2346 and a header", len(rows), err)
	}
}

// TestFloodedDevicePages: a device with 10,000 media rows and 1,000 apps
// keeps live.json small and its own page capped.
func TestFloodedDevicePages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.te.Exec(t, 10000, `INSERT INTO device_media (device_id, kind, source, device, pid, process, app_id, since)
		VALUES ('dev-1', 'camera', 'v4l2', '/dev/video0', $1, $2, '', $3)`, func(i int) []any {
		return []any{i, "/usr/bin/" + strings.Repeat("m", 200), time.Now().UnixMicro()}
	})
	e.te.Exec(t, 1000, `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, running)
		VALUES ('dev-1', $1, $2, 'zoom', 'Zoom', '/opt/zoom', 'forbidden', 1)`, func(i int) []any {
		return []any{i, time.Now().UnixMicro()}
	})
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	_, body := b.get("/live.json")
	if len(body) > 8<<10 || !strings.Contains(body, `"media_in_use":10000`) || !strings.Contains(body, `"running_apps":1000`) {
		t.Errorf("live.json: %d bytes: %.400s", len(body), body)
	}
	_, page := b.get("/devices/dev-1")
	if !strings.Contains(page, `id="media-truncated"`) || !strings.Contains(page, "Showing 100 of 10000") ||
		!strings.Contains(page, "Showing 500 of 1000") || strings.Count(page, `<tr data-kind="camera">`) != 100 {
		t.Errorf("device page not capped (%d bytes)", len(page))
	}
	_, overview := b.get("/")
	if n := strings.Count(overview, "<code>/usr/bin/"); n != 50 {
		t.Errorf("overview lists %d media uses, want 50", n)
	}
	_, devices := b.get("/devices")
	if len(devices) > 64<<10 {
		t.Errorf("devices page is %d bytes", len(devices))
	}
}
