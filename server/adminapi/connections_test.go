package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// GET /api/v1/connections and /api/v1/browser-meetings answer what the
// devices reported, to the roles that read the fleet; a bad since is a 400
// that says what to send.
func TestConnectionsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	now := e.te.Service.Now()
	if err := e.store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "one", OS: "linux", Enrolled: now}); err != nil {
		t.Fatal(err)
	}
	ts := timestamppb.New(now.Add(-time.Hour))
	evs := []*vcguardv1.Event{
		{Seq: 1, Time: ts, Detail: &vcguardv1.Event_AppConnection{AppConnection: &vcguardv1.AppConnection{
			AppId: "jitsi-meet", Servers: []string{"meet.jit.si"},
			Findings: []*vcguardv1.ConnectionFinding{{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER,
				Detail: "meet.jit.si", PolicyAction: vcguardv1.Action_ACTION_WARN}}}}},
		{Seq: 2, Time: ts, Detail: &vcguardv1.Event_BrowserMeeting{BrowserMeeting: &vcguardv1.BrowserMeeting{
			Kind: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNKNOWN_SITE, OtherOrigins: 2}}},
	}
	if _, err := e.store.IngestEvents(ctx, "dev-1", evs, now); err != nil {
		t.Fatal(err)
	}

	resp, body := e.do(t, http.MethodGet, "/api/v1/connections", e.tokens[store.RoleAnalyst], nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connections: %d %s", resp.StatusCode, body)
	}
	var conns struct {
		Apps []apitypes.AppConnections `json:"apps"`
	}
	if err := json.Unmarshal(body, &conns); err != nil {
		t.Fatal(err)
	}
	if len(conns.Apps) != 1 || len(conns.Apps[0].Servers) != 1 || conns.Apps[0].Servers[0].Allowed ||
		conns.Apps[0].Servers[0].Host != "meet.jit.si" || conns.Apps[0].Servers[0].Action != "warn" {
		t.Errorf("connections = %s", body)
	}

	resp, body = e.do(t, http.MethodGet, "/api/v1/browser-meetings", e.tokens[store.RoleAdmin], nil)
	var bm apitypes.BrowserMeetings
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &bm) != nil {
		t.Fatalf("browser-meetings: %d %s", resp.StatusCode, body)
	}
	if bm.Events != 1 || bm.OtherSites.Sites != 2 || len(bm.Kinds) != 1 || bm.Kinds[0].Kind != "unknown_site" {
		t.Errorf("browser-meetings = %s", body)
	}
	// A since after the event counts nothing.
	resp, body = e.do(t, http.MethodGet, "/api/v1/browser-meetings?since="+url.QueryEscape(now.Format(time.RFC3339)), e.tokens[store.RoleAdmin], nil)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &bm) != nil || bm.Events != 0 {
		t.Errorf("browser-meetings since now: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, http.MethodGet, "/api/v1/browser-meetings?since=yesterday", e.tokens[store.RoleAdmin], nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "RFC 3339") {
		t.Errorf("bad since: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/api/v1/connections", "/api/v1/browser-meetings"} {
		if resp, _ := e.do(t, http.MethodGet, path, e.tokens[store.RoleAuditor], nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s as auditor: %d, want 403", path, resp.StatusCode)
		}
		if resp, _ := e.do(t, http.MethodGet, path, "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", path, resp.StatusCode)
		}
	}
}
