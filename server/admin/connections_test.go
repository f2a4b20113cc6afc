package admin_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// connectionEvents are what three devices report: dev-1 and dev-3 have
// Jitsi Meet set up for the public meet.jit.si (warned, blocked), dev-2
// for the organisation's server; dev-3 has Teams signed in with a work and
// a personal account; dev-1 and dev-2 held calls in a browser.
func connectionEvents(at time.Time) map[string][]*vcguardv1.Event {
	ts := timestamppb.New(at)
	conn := func(seq uint64, c *vcguardv1.AppConnection) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: seq, Time: ts, Detail: &vcguardv1.Event_AppConnection{AppConnection: c}}
	}
	meeting := func(seq uint64, m *vcguardv1.BrowserMeeting) *vcguardv1.Event {
		return &vcguardv1.Event{Seq: seq, Time: ts, Detail: &vcguardv1.Event_BrowserMeeting{BrowserMeeting: m}}
	}
	wrong := func(a vcguardv1.Action) []*vcguardv1.ConnectionFinding {
		return []*vcguardv1.ConnectionFinding{{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER, Detail: "meet.jit.si", PolicyAction: a}}
	}
	chrome := &vcguardv1.MediaUse{Kind: "camera", AppId: "chrome", Category: "browser", Pid: 42, Process: "chrome"}
	return map[string][]*vcguardv1.Event{
		"dev-1": {
			conn(1, &vcguardv1.AppConnection{AppId: "jitsi-meet", Servers: []string{"meet.jit.si"}, Findings: wrong(vcguardv1.Action_ACTION_WARN)}),
			meeting(2, &vcguardv1.BrowserMeeting{Use: chrome, Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_APPROVED_SITE,
				Services: []*vcguardv1.SiteService{{AppId: "google-meet", Verdict: vcguardv1.Verdict_VERDICT_APPROVED}}, OtherOrigins: 3}),
			meeting(3, &vcguardv1.BrowserMeeting{Use: chrome, Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE,
				Services:     []*vcguardv1.SiteService{{AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN}, {AppId: "zoom", Verdict: vcguardv1.Verdict_VERDICT_FORBIDDEN}},
				PolicyAction: vcguardv1.Action_ACTION_WARN}),
		},
		"dev-2": {
			conn(1, &vcguardv1.AppConnection{AppId: "jitsi-meet", Servers: []string{"jitsi.example.org"}}),
			meeting(2, &vcguardv1.BrowserMeeting{Use: chrome, Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_APPROVED_SITE,
				Services: []*vcguardv1.SiteService{{AppId: "google-meet", Verdict: vcguardv1.Verdict_VERDICT_APPROVED}}, OwnOrigins: 1, Fresh: true}),
			meeting(3, &vcguardv1.BrowserMeeting{Use: chrome, Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_NO_SITE}),
		},
		"dev-3": {
			conn(1, &vcguardv1.AppConnection{AppId: "jitsi-meet", Servers: []string{"meet.jit.si"}, Findings: wrong(vcguardv1.Action_ACTION_BLOCK)}),
			conn(2, &vcguardv1.AppConnection{AppId: "microsoft-teams", Accounts: []*vcguardv1.Account{
				{Kind: vcguardv1.AccountKind_ACCOUNT_KIND_WORK, Domain: "example.org"},
				{Kind: vcguardv1.AccountKind_ACCOUNT_KIND_PERSONAL, Domain: "outlook.com"},
			}, Findings: []*vcguardv1.ConnectionFinding{{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_PERSONAL_ACCOUNT,
				Detail: "outlook.com", PolicyAction: vcguardv1.Action_ACTION_WARN}}}),
		},
	}
}

func compactJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Ingested events reach the admin service's counts: per app the servers
// and accounts with their devices, wrong ones first and marked; per
// service, verdict and kind the browser meetings. Resending the batches
// changes nothing.
func TestConnectionsAndBrowserMeetings(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	now := s.Now()
	events := connectionEvents(now.Add(-time.Hour))
	for round := range 2 {
		for _, id := range []string{"dev-1", "dev-2", "dev-3"} {
			if round == 0 {
				if err := env.Store.CreateDevice(ctx, store.Device{ID: id, Hostname: "host-" + id, OS: "linux", Enrolled: now}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := env.Store.IngestEvents(ctx, id, events[id], now); err != nil {
				t.Fatal(err)
			}
		}
		conns, err := s.Connections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		latest := now.Add(-time.Hour).UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		want := fmt.Sprintf(`[{"app_id":"jitsi-meet","name":"Jitsi Meet (desktop app)","devices":3,"unreadable":0,"latest":%q,`+
			`"servers":[{"host":"meet.jit.si","devices":2,"wrong_server":2,"allowed":false,"action":"block"},`+
			`{"host":"jitsi.example.org","devices":1,"wrong_server":0,"allowed":true}],"accounts":[],"entries_total":2},`+
			`{"app_id":"microsoft-teams","name":"Microsoft Teams","devices":1,"unreadable":0,"latest":%q,"servers":[],`+
			`"accounts":[{"kind":"personal","domain":"outlook.com","devices":1,"personal_account":1,"allowed":false,"action":"warn"},`+
			`{"kind":"work","domain":"example.org","devices":1,"personal_account":0,"allowed":true}],"entries_total":2}]`, latest, latest)
		if got := compactJSON(t, conns); got != want {
			t.Errorf("round %d: Connections =\n%s\nwant\n%s", round, got, want)
		}

		bm, err := s.BrowserMeetings(ctx, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		since := now.Add(-24 * time.Hour).Format(time.RFC3339Nano)
		want = fmt.Sprintf(`{"since":%q,"events":4,"devices":2,`+
			`"services":[{"app_id":"google-meet","name":"Google Meet","verdict":"approved","events":2,"devices":2},`+
			`{"app_id":"zoom","name":"Zoom Workplace","verdict":"forbidden","events":1,"devices":1}],`+
			`"kinds":[{"kind":"unapproved_site","events":1,"devices":1},{"kind":"no_site","events":1,"devices":1},`+
			`{"kind":"approved_site","events":2,"devices":2}],`+
			`"own_sites":{"events":1,"devices":1,"sites":1},"other_sites":{"events":1,"devices":1,"sites":3}}`, since)
		if got := compactJSON(t, bm); got != want {
			t.Errorf("round %d: BrowserMeetings =\n%s\nwant\n%s", round, got, want)
		}
	}

	// Nothing before since is counted.
	bm, err := s.BrowserMeetings(ctx, now)
	if err != nil || bm.Events != 0 || len(bm.Services) != 0 || len(bm.Kinds) != 0 {
		t.Errorf("BrowserMeetings(now) = %+v, %v; want nothing", bm, err)
	}
}

// A flood of services is bounded: at most MaxBrowserServices are told
// apart, the result says it was cut, and every event is still counted.
func TestBrowserMeetingsBounded(t *testing.T) {
	t.Parallel()
	env := adminapitest.New(t)
	s, ctx := env.Service, t.Context()
	now := s.Now()
	if err := env.Store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "one", OS: "linux", Enrolled: now}); err != nil {
		t.Fatal(err)
	}
	const n = 150
	var evs []*vcguardv1.Event
	for i := range n {
		evs = append(evs, &vcguardv1.Event{Seq: uint64(i + 1), Time: timestamppb.New(now.Add(-time.Minute)), Detail: &vcguardv1.Event_BrowserMeeting{
			BrowserMeeting: &vcguardv1.BrowserMeeting{Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE,
				Services: []*vcguardv1.SiteService{{AppId: fmt.Sprintf("svc-%03d", i), Verdict: vcguardv1.Verdict_VERDICT_UNLISTED}}}}})
	}
	if _, err := env.Store.IngestEvents(ctx, "dev-1", evs, now); err != nil {
		t.Fatal(err)
	}
	bm, err := s.BrowserMeetings(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(bm.Services) != 100 || !bm.Truncated || bm.Events != n {
		t.Errorf("%d services, truncated %v, %d events; want 100, true, %d", len(bm.Services), bm.Truncated, bm.Events, n)
	}
}
