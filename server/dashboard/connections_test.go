package dashboard_test

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/store"
)

// ingestConnections lays out what two devices reported: dev-1 has Jitsi
// Meet set up for the public meet.jit.si (warned) and Teams signed in with
// a personal account, held a call on an unapproved service in Chrome and
// had its browser policies written with one file skipped; dev-2 uses the
// organisation's Jitsi server and Google Meet in the browser.
func ingestConnections(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	if err := e.store.CreateDevice(ctx, store.Device{ID: "dev-2", Hostname: "laptop-two", OS: "linux", Enrolled: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ts := func(seq uint64) *timestamppb.Timestamp {
		return timestamppb.New(time.Now().Add(-time.Hour + time.Duration(seq)*time.Second))
	}
	chrome := &vcguardv1.MediaUse{Kind: "camera", AppId: "chrome", Category: "browser", Pid: 4242, Process: "/usr/lib/chromium/chromium"}
	warn := vcguardv1.Action_ACTION_WARN
	dev1 := []*vcguardv1.Event{
		{Seq: 1, Time: ts(1), Detail: &vcguardv1.Event_AppConnection{AppConnection: &vcguardv1.AppConnection{
			AppId: "jitsi-meet", Pid: 3100, Servers: []string{"meet.jit.si"}, Source: "Jitsi Meet settings",
			Findings: []*vcguardv1.ConnectionFinding{{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER, Detail: "meet.jit.si", PolicyAction: warn}}}}},
		{Seq: 2, Time: ts(2), Detail: &vcguardv1.Event_AppConnection{AppConnection: &vcguardv1.AppConnection{
			AppId: "microsoft-teams", Accounts: []*vcguardv1.Account{{Kind: vcguardv1.AccountKind_ACCOUNT_KIND_PERSONAL, Domain: "outlook.com"}},
			Findings: []*vcguardv1.ConnectionFinding{{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_PERSONAL_ACCOUNT, Detail: "outlook.com", PolicyAction: warn}}}}},
		{Seq: 3, Time: ts(3), Detail: &vcguardv1.Event_BrowserMeeting{BrowserMeeting: &vcguardv1.BrowserMeeting{
			Use: chrome, Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE, PolicyAction: warn, OtherOrigins: 2, Fresh: true,
			Services: []*vcguardv1.SiteService{{AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN}}}}},
		{Seq: 4, Time: ts(4), Detail: &vcguardv1.Event_BrowserPolicy{BrowserPolicy: &vcguardv1.BrowserPolicy{
			Mode: "enforce", AllowedOrigins: 3, Written: []string{"/etc/chromium/policies/managed/vcguard.json"},
			Skipped: []string{"/etc/firefox/policies/policies.json: written by someone else"}}}},
	}
	dev2 := []*vcguardv1.Event{
		{Seq: 1, Time: ts(1), Detail: &vcguardv1.Event_AppConnection{AppConnection: &vcguardv1.AppConnection{
			AppId: "jitsi-meet", Servers: []string{"jitsi.example.org"}}}},
		{Seq: 2, Time: ts(2), Detail: &vcguardv1.Event_BrowserMeeting{BrowserMeeting: &vcguardv1.BrowserMeeting{
			Use: chrome, Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_APPROVED_SITE, OwnOrigins: 1,
			Services: []*vcguardv1.SiteService{{AppId: "google-meet", Verdict: vcguardv1.Verdict_VERDICT_APPROVED}}}}},
	}
	for id, evs := range map[string][]*vcguardv1.Event{"dev-1": dev1, "dev-2": dev2} {
		if _, err := e.store.IngestEvents(ctx, id, evs, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// The "Servers and accounts" page counts what the devices reported, the
// wrong server and the personal account highlighted, and the meetings in
// the browser by kind and service; the device page says the same events
// in plain words and shows the browser policies.
func TestConnectionsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ingestConnections(t, e)
	b, _ := e.loggedIn(t, store.RoleAnalyst)

	resp, body := b.get("/apps/connections")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /apps/connections: %d", resp.StatusCode)
	}
	body = html.UnescapeString(body)
	for _, want := range []string{
		"<h1>Servers and accounts</h1>",
		`<h2>Jitsi Meet (desktop app) <code>jitsi-meet</code> <span class="verdict verdict-forbidden">1 to act on</span></h2>`,
		"Reported by 2 devices",
		`<tr data-host="meet.jit.si" class="flagged">`,
		"<strong>not allowed (wrong server)</strong> on 1, warned",
		`<tr data-host="jitsi.example.org">`,
		`<tr data-kind="personal" class="flagged">`,
		"a personal account (outlook.com)",
		"<strong>not the organisation's (personal account)</strong> on 1, warned",
		"<h2>Meetings in the browser</h2>",
		"2 reports from 2 devices",
		`<tr data-kind="unapproved_site" class="flagged"><td><strong>a service the policy does not approve</strong></td><td>1</td><td>1</td></tr>`,
		`<tr data-kind="approved_site"><td>approved services or the organisation's own sites only</td><td>1</td><td>1</td></tr>`,
		`<tr data-app="zoom" data-verdict="forbidden"><td>Zoom Workplace <span class="verdict verdict-forbidden">forbidden</span></td><td>1</td><td>1</td></tr>`,
		`<tr data-app="google-meet" data-verdict="approved">`,
		"own sites had the permission in 1 report (1 device); other sites, counted but never named, in 1 report (1 device, 2 sites in all)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("connections page lacks %q:\n%s", want, body)
		}
	}
	// The apps page links to it.
	if _, apps := b.get("/apps"); !strings.Contains(apps, `href="/apps/connections"`) {
		t.Error("the apps page does not link to /apps/connections")
	}

	_, dev := b.get("/devices/dev-1")
	dev = html.UnescapeString(dev)
	for _, want := range []string{
		"Jitsi Meet (desktop app) set up for meet.jit.si — not allowed (wrong server), warned (read from Jitsi Meet settings)",
		"Microsoft Teams signed in with a personal account (outlook.com) — not the organisation's (personal account), warned",
		"Google Chrome using the camera: Zoom Workplace (forbidden), 2 other sites — a service the policy does not approve, warned; permission given during this call",
		"enforce: 3 origins may use the camera and microphone; 1 written; skipped: /etc/firefox/policies/policies.json: written by someone else",
		`<tr data-type="app_connection" class="flagged">`,
		`<dd id="browser-policy">enforce: 3 origins`,
	} {
		if !strings.Contains(dev, want) {
			t.Errorf("device page lacks %q:\n%s", want, dev[strings.Index(dev, "<dl"):])
		}
	}
}

// An empty fleet says so instead of drawing empty tables.
func TestConnectionsPageEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _ := e.loggedIn(t, store.RoleAdmin)
	_, body := b.get("/apps/connections")
	for _, want := range []string{"No device has reported the servers or accounts of a meeting app yet.", "No call in a browser reported."} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("empty connections page lacks %q", want)
		}
	}
}

// TestFloodedConnectionsPage: a database holding connection state beyond
// every cap (laid out directly: ingest refuses it) still gives a page of
// at most admin.MaxConnectionApps apps and admin.MaxConnectionEntries
// entries each, and says what it left out.
func TestFloodedConnectionsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now().UnixMicro()
	e.te.Exec(t, 300, `INSERT INTO device_connections (device_id, app_id, at, received_at) VALUES ('dev-1', $1, $2, $2)`,
		func(i int) []any { return []any{fmt.Sprintf("app-%03d", i), now} })
	e.te.Exec(t, 500, `INSERT INTO device_connection_items (device_id, app_id, item, value, finding, action)
		VALUES ('dev-1', 'app-000', 'server', $1, 'wrong_server', 'warn')`,
		func(i int) []any { return []any{fmt.Sprintf("h%03d.%s.example", i, strings.Repeat("x", 200))} })
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	_, body := b.get("/apps/connections")
	if n := strings.Count(body, `<section class="conn-app"`); n != admin.MaxConnectionApps {
		t.Errorf("%d apps on the page, want the bound %d", n, admin.MaxConnectionApps)
	}
	if n := strings.Count(body, `<tr data-host=`); n != admin.MaxConnectionEntries {
		t.Errorf("%d servers on the page, want the bound %d", n, admin.MaxConnectionEntries)
	}
	if !strings.Contains(body, fmt.Sprintf("Showing %d of 500 servers and accounts", admin.MaxConnectionEntries)) {
		t.Error("the page does not say it left servers out")
	}
	if len(body) > 256<<10 {
		t.Errorf("connections page is %d bytes", len(body))
	}
}
