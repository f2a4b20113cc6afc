package dashboard_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// ingestFleet lays out a small fleet: dev-1 (laptop-one, linux) ran Zoom
// (forbidden: told, closed, stopped) and runs Teams (approved) with the
// camera on; dev-2 (macbook, darwin, group sales) runs Zoom (approved);
// dev-3 (a hostname that is a spreadsheet formula, windows, group eng)
// has never reported.
func ingestFleet(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	for _, d := range []store.Device{
		{ID: "dev-2", Hostname: "macbook", OS: "darwin", Group: "sales", Enrolled: time.Now()},
		{ID: "dev-3", Hostname: "=HYPERLINK(\"http://x\")", OS: "windows", Group: "eng", Enrolled: time.Now()},
	} {
		if err := e.store.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-30 * time.Minute)
	ts := func(s int) *timestamppb.Timestamp { return timestamppb.New(base.Add(time.Duration(s) * time.Second)) }
	app := func(id string, pid int32, v vcguardv1.Verdict) *vcguardv1.AppInstance {
		return &vcguardv1.AppInstance{AppId: id, Name: id + " app", Pid: pid, Started: ts(0), Exe: "/opt/" + id + "/" + id, Verdict: v}
	}
	zoom := app("zoom", 100, vcguardv1.Verdict_VERDICT_FORBIDDEN)
	teams := app("microsoft-teams", 200, vcguardv1.Verdict_VERDICT_APPROVED)
	appEv := func(seq uint64, kind vcguardv1.AppEvent_Kind, a *vcguardv1.AppInstance) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: seq, Time: ts(int(seq)), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: kind, App: a}}}
	}
	dev1 := []*vcguardv1.Event{
		appEv(1, vcguardv1.AppEvent_KIND_STARTED, zoom),
		{Seq: 2, Time: ts(2), Detail: &vcguardv1.Event_UserNotified{UserNotified: &vcguardv1.UserNotified{AppId: "zoom",
			Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN, PolicyAction: vcguardv1.Action_ACTION_BLOCK, Sessions: 1, Lang: "nl"}}},
		{Seq: 3, Time: ts(3), Detail: &vcguardv1.Event_Enforcement{Enforcement: &vcguardv1.Enforcement{App: zoom, Killed: []int32{100, 101}}}},
		appEv(4, vcguardv1.AppEvent_KIND_STOPPED, zoom),
		appEv(5, vcguardv1.AppEvent_KIND_STARTED, teams),
		{Seq: 6, Time: ts(6), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: true,
			Use: &vcguardv1.MediaUse{Kind: "camera", Device: "/dev/video0", Pid: 200, Process: "/opt/teams/teams", AppId: "microsoft-teams", Source: "v4l2"}}}},
		{Seq: 7, Time: ts(7), Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}},
	}
	dev2 := []*vcguardv1.Event{appEv(1, vcguardv1.AppEvent_KIND_STARTED, app("zoom", 300, vcguardv1.Verdict_VERDICT_APPROVED))}
	// dev-2 is heard from after dev-1.
	if _, err := e.store.IngestEvents(ctx, "dev-1", dev1, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.IngestEvents(ctx, "dev-2", dev2, time.Now()); err != nil {
		t.Fatal(err)
	}
}

var deviceRowID = regexp.MustCompile(`<tr data-device="([^"]+)"`)

// shownDevices lists the devices of a devices page, in order.
func shownDevices(body string) []string {
	var out []string
	for _, m := range deviceRowID.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The devices list sorts and filters on the server, in the URL; the CSV
// export and live.json apply the same view; a bad value is a 400 that
// names its parameter.
func TestDevicesViews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ingestFleet(t, e)
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"dev-3", "dev-1", "dev-2"}}, // =HYPERLINK, laptop-one, macbook
		{"?sort=-hostname", []string{"dev-2", "dev-1", "dev-3"}},
		{"?sort=os", []string{"dev-2", "dev-1", "dev-3"}},
		{"?sort=-verdict", []string{"dev-2", "dev-1", "dev-3"}}, // approved (by hostname, descending), then none
		{"?app=zoom", []string{"dev-2"}},                        // dev-1's Zoom stopped
		{"?app=microsoft-teams", []string{"dev-1"}},
		{"?app=zoom&verdict=forbidden", nil},
		{"?verdict=approved&sort=-hostname", []string{"dev-2", "dev-1"}},
		{"?group=sales", []string{"dev-2"}},
		{"?os=windows", []string{"dev-3"}},
		{"?seen=within-1h", []string{"dev-1", "dev-2"}},
		{"?seen=over-24h", []string{"dev-3"}},
		{"?sort=last_seen&limit=1", []string{"dev-3"}},
	} {
		resp, body := b.get("/devices" + c.query)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/devices%s: %d %.200s", c.query, resp.StatusCode, body)
			continue
		}
		if got := shownDevices(body); !slices.Equal(got, c.want) {
			t.Errorf("/devices%s: %v, want %v", c.query, got, c.want)
		}
		// The export and the live snapshot are of the same view.
		_, csvBody := b.get("/devices.csv" + c.query)
		rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil {
			t.Fatalf("/devices.csv%s: %v", c.query, err)
		}
		var ids []string
		for _, r := range rows[1:] {
			ids = append(ids, r[0])
		}
		wantCSV := c.want
		if strings.Contains(c.query, "limit=1") {
			wantCSV = []string{"dev-3", "dev-1", "dev-2"} // the export pages through all
		}
		if !slices.Equal(ids, wantCSV) {
			t.Errorf("/devices.csv%s: %v, want %v", c.query, ids, wantCSV)
		}
		var live struct {
			Devices []struct{ ID string } `json:"devices"`
		}
		_, liveBody := b.get("/live.json" + c.query)
		if err := json.Unmarshal([]byte(liveBody), &live); err != nil {
			t.Fatalf("/live.json%s: %v", c.query, err)
		}
		ids = nil
		for _, d := range live.Devices {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("/live.json%s: %v, want %v", c.query, ids, c.want)
		}
	}
	// The list links keep the view: the sort headers, the next page, the
	// export.
	_, body := b.get("/devices?group=eng&sort=last_seen&limit=1")
	for _, want := range []string{
		`href="/devices?group=eng&amp;limit=1&amp;sort=-last_seen" data-sort="last_seen"`,
		`<th aria-sort="ascending"><a href="/devices?group=eng&amp;limit=1&amp;sort=-last_seen"`,
		`href="/devices.csv?group=eng&amp;limit=1&amp;sort=last_seen" id="devices-csv"`,
		`<label for="app">Running app</label>`, `<label for="verdict">Verdict of a running app</label>`,
		`<option value="zoom">zoom app</option>`, `<option value="within-24h">within 24 hours</option>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/devices?group=eng&sort=last_seen&limit=1 lacks %s", want)
		}
	}
	_, body = b.get("/devices?sort=last_seen&limit=1")
	next := regexp.MustCompile(`href="/devices(\?[^"]+)" id="next-page"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page link")
	}
	_, body = b.get("/devices" + strings.ReplaceAll(next[1], "&amp;", "&"))
	if got := shownDevices(body); !slices.Equal(got, []string{"dev-1"}) {
		t.Errorf("second page by last seen: %v, want [dev-1]", got)
	}
	// A formula in a cell is defused.
	_, csvBody := b.get("/devices.csv?os=windows")
	if !strings.Contains(csvBody, `"'=HYPERLINK(""http://x"")"`) {
		t.Errorf("the formula in a hostname is not defused:\n%s", csvBody)
	}

	// Bad values: 400, naming the parameter, on every view of the list.
	for _, path := range []string{"/devices", "/devices.csv", "/live.json", "/live/events"} {
		for query, param := range map[string]string{
			"?sort=name":               "sort=",
			"?seen=yesterday":          "seen=",
			"?verdict=evil":            "verdict=",
			"?status=asleep":           "status=",
			"?limit=0":                 "limit=",
			"?os=a&os=b":               "os=",
			"?sort=os&cursor=garbage":  "cursor",
			"?sort=-os&before=garbage": "before",
		} {
			if path == "/devices.csv" && strings.Contains(query, "cursor") || strings.Contains(query, "before") && path == "/devices.csv" {
				continue // the export starts at the first device, whatever the page
			}
			resp, body := b.get(path + query)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, param) {
				t.Errorf("%s%s: %d %q, want 400 naming %s", path, query, resp.StatusCode, body, param)
			}
		}
	}
	// A cursor of one order in another: refused as such.
	_, body = b.get("/devices?sort=os&limit=1")
	next = regexp.MustCompile(`cursor=([^"&]+)`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no cursor")
	}
	if resp, body := b.get("/devices?sort=-last_seen&limit=1&cursor=" + next[1]); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "another sort order") {
		t.Errorf("a cursor of another order: %d %q", resp.StatusCode, body)
	}
}

// The overview breaks the fleet down by OS, group and app, lists the top
// findings and the devices not reporting, and exports it all as CSV.
func TestOverviewBreakdowns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ingestFleet(t, e)
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	_, body := b.get("/")
	for _, want := range []string{
		`<h2>Compliance by OS</h2>`, `<tr data-os="darwin"><td data-label="OS"><a href="/devices?os=darwin">darwin</a></td><td data-label="Devices">1</td>`,
		`<h2>Compliance by group</h2>`, `<tr data-group="eng">`, `<span class="none">no group</span>`,
		`<h2>Devices by worst verdict</h2>`, `<tr data-verdict="approved"><td data-label="Verdict"><span class="verdict verdict-approved">approved</span></td>
    <td data-label="Devices"><a href="/devices?verdict=approved">2</a></td></tr>`, `<tr data-verdict=""><td data-label="Verdict"><span class="none">no app running</span></td>`,
		`<h2>Running apps</h2>`, `<tr data-app="zoom"><td data-label="App"><a href="/devices?app=zoom">zoom app</a></td><td data-label="Devices">1</td>`,
		`<h2>Top findings</h2>`, `No forbidden, unverified, outdated or unlisted app runs now.`,
		`<h2>Devices not reporting</h2>`, `<tr data-device="dev-3">`,
		`data-live-overview`, `href="/overview.csv"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	resp, csvBody := b.get("/overview.csv")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("overview.csv: %s", resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, strings.Join(r[:3], "/"))
	}
	for _, want := range []string{"os/darwin/", "os/linux/", "verdict/approved/", "verdict//", "group/sales/", "app/zoom/zoom app", "app/microsoft-teams/microsoft-teams app",
		`not_reporting/dev-3/'=HYPERLINK("http://x")`} {
		if !slices.Contains(got, want) {
			t.Errorf("overview.csv lacks %s: %v", want, got)
		}
	}
}

// The device timeline makes one row of a launch (start, notice,
// enforcement, stop) with its verdict, what was done and who was told,
// filters by kind, and the revoke box sits below the apps.
func TestDeviceTimelineGroupsLaunches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ingestFleet(t, e)
	b, _ := e.loggedIn(t, store.RoleAdmin)
	_, body := b.get("/devices/dev-1")
	rows := regexp.MustCompile(`(?s)<tr data-type="[^"]*"[^>]*>.*?</tr>`).FindAllString(body, -1)
	if len(rows) != 4 {
		t.Fatalf("%d timeline rows, want 4 (zoom, teams, camera, policy):\n%s", len(rows), strings.Join(rows, "\n"))
	}
	zoom := rows[len(rows)-1]
	for _, want := range []string{`class="flagged"`, `title="app_started, user_notified, app_blocked, app_stopped">started → user told → closed by vcguard → stopped<`, "zoom", "verdict-forbidden",
		"closed 2 processes", "forbidden, block: displayed in 1 session (nl)", " – "} {
		if !strings.Contains(zoom, want) {
			t.Errorf("the Zoom launch row lacks %q:\n%s", want, zoom)
		}
	}
	if teams := rows[len(rows)-2]; !strings.Contains(teams, "microsoft-teams") || !strings.Contains(teams, "still on") || !strings.Contains(teams, "verdict-approved") {
		t.Errorf("the Teams row: %s", teams)
	}
	if i, j := strings.Index(body, `<table id="apps"`), strings.Index(body, `id="revoke-form"`); i < 0 || j < i {
		t.Errorf("the revoke form (at %d) is not below the apps (at %d)", j, i)
	}
	for kind, want := range map[string]int{"apps": 2, "media": 1, "policy": 1, "network": 0} {
		_, body := b.get("/devices/dev-1?kind=" + kind)
		rows := regexp.MustCompile(`<tr data-type=`).FindAllString(body, -1)
		if len(rows) != want || !strings.Contains(body, `aria-current="page">`+kind+`</a>`) {
			t.Errorf("kind=%s: %d rows, want %d", kind, len(rows), want)
		}
	}
	if resp, body := b.get("/devices/dev-1?kind=bogus"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "kind=") {
		t.Errorf("kind=bogus: %d %q", resp.StatusCode, body)
	}
	// The timeline's CSV has the same rows.
	_, csvBody := b.get("/devices/dev-1/timeline.csv?kind=apps")
	records, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(records) != 3 || records[2][3] != "started → user told → closed by vcguard → stopped" || records[2][9] != "closed 2 processes" {
		t.Errorf("timeline.csv?kind=apps: %v %q", err, records)
	}
	if resp, _ := b.get("/devices/dev-1/timeline.csv?kind=bogus"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("timeline.csv?kind=bogus: %d", resp.StatusCode)
	}
}

// Bulk actions ask first, then change each device through the admin
// service, each change audited with who made it.
func TestBulkActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ingestFleet(t, e)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	alice := e.accounts[store.RoleAdmin].Username
	_, body := b.get("/devices")
	for _, want := range []string{`<form method="post" action="/devices/bulk" id="bulk-form">`, `name="id" value="dev-2"`, `id="bulk-review"`} {
		if !strings.Contains(body, want) {
			t.Errorf("devices page for an admin lacks %s", want)
		}
	}
	form := url.Values{"csrf": {csrf}, "id": {"dev-2", "dev-3", "dev-404"}, "action": {"group"}, "group": {"eng"}, "back": {"os=darwin"}}
	resp, body := b.post("/devices/bulk", form)
	for _, want := range []string{"Move 2 devices to group <em>eng</em>?", `<input type="hidden" name="confirm" value="yes">`,
		`<input type="hidden" name="id" value="dev-2">`, "Not found (deleted or never enrolled), left out: dev-404.", `<a href="/devices?os=darwin">Cancel</a>`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("confirmation page (%d) lacks %q", resp.StatusCode, want)
		}
	}
	if d, _ := e.store.DeviceRecord(t.Context(), "dev-2"); d.Group != "sales" {
		t.Fatalf("changed before confirmation: group %q", d.Group)
	}
	form.Set("confirm", "yes")
	resp, body = b.post("/devices/bulk", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "1 devices changed, 1 were so already.") {
		t.Errorf("group change: %d %.3000s", resp.StatusCode, body)
	}
	if d, _ := e.store.DeviceRecord(t.Context(), "dev-2"); d.Group != "eng" {
		t.Errorf("dev-2 group %q, want eng", d.Group)
	}
	// Revoke two, one of them twice.
	form = url.Values{"csrf": {csrf}, "id": {"dev-1", "dev-2"}, "action": {"revoke"}, "confirm": {"yes"}}
	if resp, body := b.post("/devices/bulk", form); resp.StatusCode != http.StatusOK || !strings.Contains(body, "2 devices changed.") {
		t.Errorf("revoke: %d %.2000s", resp.StatusCode, body)
	}
	if resp, body := b.post("/devices/bulk", form); resp.StatusCode != http.StatusOK || !strings.Contains(body, "0 devices changed, 2 were so already.") {
		t.Errorf("revoke again: %d %.2000s", resp.StatusCode, body)
	}
	log, err := e.store.AuditLog(t.Context(), store.AuditFilter{Actor: alice})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Action != "login_success" {
			got = append(got, log[i].Action+" "+log[i].Target)
			if log[i].RemoteAddr != "127.0.0.1" {
				t.Errorf("%s: remote address %q", log[i].Action, log[i].RemoteAddr)
			}
		}
	}
	if want := []string{"device_group_set device:dev-2", "device_revoke device:dev-1", "device_revoke device:dev-2"}; !slices.Equal(got, want) {
		t.Errorf("audit log: %v, want %v", got, want)
	}
	// Every device the filter selects: the confirmation lists them.
	resp, body = b.post("/devices/bulk", url.Values{"csrf": {csrf}, "all": {"yes"}, "action": {"group"}, "group": {"qa"}, "back": {"os=windows"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Move 1 devices to group <em>qa</em>?") || !strings.Contains(body, `name="id" value="dev-3"`) {
		t.Errorf("all matching the filter: %d %.3000s", resp.StatusCode, body)
	}
	if resp, body := b.post("/devices/bulk", url.Values{"csrf": {csrf}, "all": {"yes"}, "action": {"group"}, "back": {"seen=never"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "seen=&#34;never&#34;") {
		t.Errorf("all with a bad filter: %d %q", resp.StatusCode, body)
	}
	// Bad forms: 400 naming the field.
	for name, c := range map[string]struct {
		form  url.Values
		field string
	}{
		"no device":  {url.Values{"action": {"revoke"}}, "id:"},
		"bad action": {url.Values{"id": {"dev-3"}, "action": {"delete"}}, "action="},
		"bad group":  {url.Values{"id": {"dev-3"}, "action": {"group"}, "group": {"no spaces allowed"}}, "group:"},
		"too many":   {url.Values{"id": manyIDs(1001), "action": {"revoke"}}, "id:"},
	} {
		c.form.Set("csrf", csrf)
		if resp, body := b.post("/devices/bulk", c.form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `<p class="error" role="alert">`+c.field) ||
			!strings.Contains(body, `id="bulk-back"`) {
			t.Errorf("%s: %d %q, want 400 naming %s", name, resp.StatusCode, body, c.field)
		}
	}
	// An analyst sees no selection boxes.
	a, _ := e.loggedIn(t, store.RoleAnalyst)
	if _, body := a.get("/devices"); strings.Contains(body, "bulk-form") || strings.Contains(body, `name="id"`) {
		t.Error("an analyst's devices page offers bulk actions")
	}
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "dev-" + strings.Repeat("x", 3) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	return out
}

// sseEvent reads the next event of a server-sent event stream.
func sseEvent(t *testing.T, r *bufio.Reader) (name, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// GET /live/events streams the page's snapshot, sends it again when it
// changes, is bounded per session, and ends when the session does.
func TestLiveEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := metrics.New()
	e.dash.API.Admin.Metrics = m
	ingestFleet(t, e)
	sess, _ := e.session(t, store.RoleAnalyst, time.Now().Add(time.Hour))
	open := func(query string) (*http.Response, *bufio.Reader) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/live/events"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/event-stream")
		req.AddCookie(&http.Cookie{Name: "vcguard_session", Value: sess})
		resp, err := e.client(nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, bufio.NewReader(resp.Body)
	}
	resp, r := open("?view=devices&group=sales")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	name, data := sseEvent(t, r)
	var snap struct {
		Counters struct{ Total int }   `json:"counters"`
		Devices  []struct{ ID string } `json:"devices"`
	}
	if err := json.Unmarshal([]byte(data), &snap); err != nil || name != "live" || snap.Counters.Total != 3 || len(snap.Devices) != 1 || snap.Devices[0].ID != "dev-2" {
		t.Fatalf("first event %s %s (%v)", name, data, err)
	}
	// A change reaches the stream without a reload.
	if err := e.store.CreateDevice(t.Context(), store.Device{ID: "dev-4", Hostname: "new", OS: "linux", Group: "sales", Enrolled: time.Now()}); err != nil {
		t.Fatal(err)
	}
	name, data = sseEvent(t, r)
	if name != "live" || !strings.Contains(data, `"id":"dev-4"`) {
		t.Errorf("after a device enrolled: %s %.300s", name, data)
	}
	// The overview's and a device's streams.
	for query, want := range map[string]string{"?view=overview": `"breakdown":`, "?view=device&id=dev-1": `"device":`} {
		_, r := open(query)
		if name, data := sseEvent(t, r); name != "live" || !strings.Contains(data, want) {
			t.Errorf("%s: %s %.200s", query, name, data)
		}
	}
	// Four streams per session at most: the fifth is refused.
	if resp, _ := open(""); resp.StatusCode != http.StatusOK {
		t.Errorf("fourth stream: %d", resp.StatusCode)
	}
	if resp, _ := open(""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("fifth stream: %d, want 503", resp.StatusCode)
	}
	// The refusal is counted with its reason.
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	refused := 0.0
	for _, mf := range mfs {
		for _, c := range mf.GetMetric() {
			for _, l := range c.GetLabel() {
				if mf.GetName() == "vcguard_refused_total" && l.GetName() == "reason" && l.GetValue() == "live_streams" {
					refused += c.GetCounter().GetValue()
				}
			}
		}
	}
	if refused != 1 {
		t.Errorf("vcguard_refused_total{reason=live_streams} = %v, want 1", refused)
	}
	for query, status := range map[string]int{"?view=device&id=dev-404": 404, "?view=device": 400, "?view=everything": 400} {
		if resp, _ := open(query); resp.StatusCode != status {
			t.Errorf("%s: %d, want %d", query, resp.StatusCode, status)
		}
	}
	// Logout (the session deleted) ends the streams within a tick.
	if err := e.dash.API.Admin.EndSession(t.Context(), admin.Actor{Subject: "token:tok_analyst"}, auth.Hash(sess)); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				done <- "closed without an end event"
				return
			}
			if strings.HasPrefix(line, "data: \"session\"") {
				done <- "ended"
				return
			}
		}
	}()
	select {
	case got := <-done:
		if got != "ended" {
			t.Error(got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived its session by 10 s")
	}
}

// A live stream ends when its session expires, and every stream ends when
// the server shuts down (EndStreams), telling the browser to reconnect.
func TestLiveEventsEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	open := func(sess string) *bufio.Reader {
		req, err := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/live/events?view=overview", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/event-stream")
		req.AddCookie(&http.Cookie{Name: "vcguard_session", Value: sess})
		resp, err := e.client(nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
		r := bufio.NewReader(resp.Body)
		if name, _ := sseEvent(t, r); name != "live" {
			t.Fatalf("first event %q", name)
		}
		return r
	}
	// The session expires in 2 s.
	short, _ := e.session(t, store.RoleAnalyst, time.Now().Add(2*time.Second))
	start := time.Now()
	if name, data := sseEvent(t, open(short)); name != "end" || data != `"session"` {
		t.Errorf("at the session's expiry: %s %s", name, data)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the stream outlived its session by %v", took-2*time.Second)
	}
	long, _ := e.session(t, store.RoleAnalyst, time.Now().Add(time.Hour))
	r := open(long)
	e.dash.EndStreams()
	if name, data := sseEvent(t, r); name != "end" || data != `"renew"` {
		t.Errorf("at shutdown: %s %s", name, data)
	}
}
