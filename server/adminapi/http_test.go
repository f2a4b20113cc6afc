package adminapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/fanout"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// env is an admin API over a real store in a temporary directory, with one
// token per role and the EU default policy published as version 1.
type env struct {
	api    *adminapi.API
	store  *store.Store
	hub    *fanout.Hub
	pub    ed25519.PublicKey
	srv    *httptest.Server
	tokens map[store.Role]string
	te     *adminapitest.Env
}

var roles = adminapitest.Roles

func newEnv(t *testing.T) *env {
	t.Helper()
	te := adminapitest.New(t)
	e := &env{api: te.API, store: te.Store, hub: te.Hub, pub: te.PolicyKey, tokens: te.Tokens, te: te}
	mux := http.NewServeMux()
	e.api.Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request with the token (none if empty) and returns the status
// and body.
func (e *env) do(t *testing.T, method, path, token string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// requestFor turns a route pattern into a method, a concrete path and a
// body that the handler would accept.
func requestFor(pattern string) (method, path string, body []byte) {
	method, path, _ = strings.Cut(pattern, " ")
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return "x"
	})
	switch pattern {
	case "POST /api/v1/policies", "POST /api/v1/policies/validate":
		body = []byte("name: Everything approved\ndefault: approved\n")
	case "POST /api/v1/enrollment-secrets":
		body = []byte(`{"description": "route test"}`)
	case "POST /api/v1/tokens":
		body = []byte(`{"description": "route test", "role": "analyst"}`)
	case "POST /api/v1/admins":
		body = []byte(`{"username": "route-test", "role": "analyst"}`)
	case "POST /api/v1/devices/{id}/group":
		body = []byte(`{"group": "sales"}`)
	}
	return method, path, body
}

// TestRoutesAuthorization walks every route Register adds: without a valid
// token it answers 401, to a role it does not list 403 (changing nothing),
// and to a listed role it runs the handler.
func TestRoutesAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	routes := e.api.Routes()
	if len(routes) == 0 {
		t.Fatal("no routes")
	}
	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.Pattern] {
			t.Errorf("route %q listed twice", r.Pattern)
		}
		seen[r.Pattern] = true
		if !strings.Contains(r.Pattern, " /api/v1/") {
			t.Errorf("route %q is not a method and a path under /api/v1/", r.Pattern)
		}
		if len(r.Roles) == 0 {
			t.Errorf("route %q allows no role", r.Pattern)
		}
		// Writes are for admins only; auditors read the audit log and
		// nothing else; analysts read the fleet, not the audit log.
		method, path, _ := strings.Cut(r.Pattern, " ")
		if method != http.MethodGet && slices.Contains(r.Roles, store.RoleAnalyst) {
			t.Errorf("write route %q allows analysts", r.Pattern)
		}
		auditLog := strings.HasPrefix(path, "/api/v1/audit")
		if slices.Contains(r.Roles, store.RoleAuditor) != auditLog {
			t.Errorf("route %q: auditors may use it: %v; want exactly the audit log routes", r.Pattern, !auditLog)
		}
		if auditLog && slices.Contains(r.Roles, store.RoleAnalyst) {
			t.Errorf("route %q: analysts may read the audit log", r.Pattern)
		}
		// Accounts and tokens are for admins only.
		for _, p := range []string{"/api/v1/admins", "/api/v1/tokens", "/api/v1/enrollment-secrets"} {
			if strings.HasPrefix(path, p) && !slices.Equal(r.Roles, []store.Role{store.RoleAdmin}) {
				t.Errorf("route %q allows %v, want admin only", r.Pattern, r.Roles)
			}
		}
	}
	// A dashboard session is no credential for the API: browsers send its
	// cookie on their own, so accepting it would open the API to CSRF.
	sessionID := "sess-" + auth.NewID()
	if err := e.store.CreateSession(t.Context(), store.Session{Hash: auth.Hash(sessionID), Subject: "alice", Role: store.RoleAdmin,
		CSRF: "csrf", Created: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// Refused requests first: they must change nothing.
	for _, r := range routes {
		method, path, body := requestFor(r.Pattern)
		t.Run(r.Pattern, func(t *testing.T) {
			for _, tc := range []struct {
				name, header string
			}{
				{"no token", ""},
				{"unknown token", "Bearer vcg_test_unknown"},
				{"token of another scheme", "Basic " + e.tokens[store.RoleAdmin]},
				{"empty bearer", "Bearer "},
			} {
				req, _ := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, bytes.NewReader(body))
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", tc.name, resp.StatusCode)
				}
				if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: WWW-Authenticate = %q", tc.name, resp.Header.Get("WWW-Authenticate"))
				}
			}
			req, _ := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, bytes.NewReader(body))
			req.AddCookie(&http.Cookie{Name: "vcguard_session", Value: sessionID})
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if resp, err := e.srv.Client().Do(req); err != nil {
				t.Fatal(err)
			} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("admin's dashboard session cookie without a token: status %d, want 401", resp.StatusCode)
			}
			for _, role := range roles {
				if slices.Contains(r.Roles, role) {
					continue
				}
				resp, b := e.do(t, method, path, e.tokens[role], body)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403 (%s)", role, resp.StatusCode, b)
				}
				if !strings.Contains(string(b), "role "+string(role)+" may not") {
					t.Errorf("%s: body %s does not say why", role, b)
				}
			}
		})
	}
	ctx := t.Context()
	if ps, err := e.store.Policies(ctx); err != nil || len(ps) != 1 {
		t.Fatalf("after refused requests: %d policies, %v", len(ps), err)
	}
	if ss, err := e.store.EnrollmentSecrets(ctx); err != nil || len(ss) != 0 {
		t.Fatalf("after refused requests: %d secrets, %v", len(ss), err)
	}
	if ts, err := e.store.APITokens(ctx); err != nil || len(ts) != len(roles) {
		t.Fatalf("after refused requests: %d tokens, %v", len(ts), err)
	}
	if as, err := e.store.Admins(ctx); err != nil || len(as) != 0 {
		t.Fatalf("after refused requests: %d admins, %v", len(as), err)
	}
	if log, err := e.store.AuditLog(ctx, store.AuditFilter{}); err != nil || len(log) != 0 {
		t.Fatalf("after refused requests: audit log %+v, %v", log, err)
	}

	// Allowed roles reach the handler: a JSON answer that is not an
	// authorization failure (unknown ids give a JSON 404 from the handler,
	// not the mux's plain one).
	for _, r := range routes {
		method, path, body := requestFor(r.Pattern)
		for _, role := range r.Roles {
			resp, b := e.do(t, method, path, e.tokens[role], body)
			switch {
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
				resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode >= 500:
				t.Errorf("%s as %s: status %d (%s)", r.Pattern, role, resp.StatusCode, b)
			case resp.Header.Get("Content-Type") != "application/json":
				t.Errorf("%s as %s: status %d with %q: not the handler's answer", r.Pattern, role, resp.StatusCode, resp.Header.Get("Content-Type"))
			case !json.Valid(b):
				t.Errorf("%s as %s: invalid JSON %q", r.Pattern, role, b)
			}
		}
	}
}

type policyJSON struct {
	Version     uint64 `json:"version"`
	Name        string `json:"name"`
	PublishedBy string `json:"published_by"`
	Document    string `json:"document"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestPublishPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	sub := e.hub.Subscribe("dev-1")
	defer e.hub.Unsubscribe(sub)

	_, b := e.do(t, "GET", "/api/v1/policies/current", admin, nil)
	before := decode[policyJSON](t, b)
	if before.Version != 1 || before.Name != "European default" {
		t.Fatalf("current policy = %+v", before)
	}

	bad := []struct {
		name, doc, want string
	}{
		{"unknown app", "name: Bad\napps:\n  zoom:\n    status: approved\n  zoomx:\n    status: approved\n", "policy:5: field apps.zoomx:"},
		{"bad status", "name: Bad\napps:\n  zoom:\n    status: ok\n", "policy:4: field apps.zoom.status:"},
		{"unknown field", "name: Bad\ndefalt: approved\n", "policy:2: field defalt: unknown field"},
		{"no name", "apps: {}\n", "policy:1: field name: is required"},
		{"empty", "", "policy:1: document is empty"},
		{"two documents", "name: A\n---\nname: B\n", "policy:2: more than one YAML document"},
	}
	for _, tt := range bad {
		resp, b := e.do(t, "POST", "/api/v1/policies?comment=test", admin, []byte(tt.doc))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", tt.name, resp.StatusCode, b)
			continue
		}
		msg := decode[map[string]string](t, b)["error"]
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error %q does not contain %q", tt.name, msg, tt.want)
		}
	}
	// Too large: refused before parsing.
	big := append([]byte("name: Big\ndescription: "), bytes.Repeat([]byte("x"), 1<<20)...)
	if resp, b := e.do(t, "POST", "/api/v1/policies?comment=test", admin, big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized policy: status %d (%s)", resp.StatusCode, b)
	}

	_, b = e.do(t, "GET", "/api/v1/policies/current", admin, nil)
	if after := decode[policyJSON](t, b); after != before {
		t.Errorf("refused policies changed the current one: %+v", after)
	}
	select {
	case p := <-sub.C:
		t.Fatalf("refused policy reached an agent stream: version %d", p.GetVersion())
	default:
	}

	good := []byte("name: Only Jitsi\ndefault: forbidden\napps:\n  jitsi-meet:\n    status: approved\n")
	resp, b := e.do(t, "POST", "/api/v1/policies?comment=test", admin, good)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("good policy: status %d (%s)", resp.StatusCode, b)
	}
	created := decode[policyJSON](t, b)
	if created.Version != 2 || created.Name != "Only Jitsi" || created.Document != string(good) ||
		created.PublishedBy != "token:tok_admin" {
		t.Errorf("created = %+v", created)
	}
	select {
	case p := <-sub.C:
		if p.GetVersion() != 2 || !bytes.Equal(p.GetDocument(), good) {
			t.Errorf("pushed version %d document %q", p.GetVersion(), p.GetDocument())
		}
		if err := policies.VerifyPolicy(e.pub, p.GetVersion(), p.GetDocument(), p.GetSignature()); err != nil {
			t.Errorf("pushed policy signature: %v", err)
		}
		if err := policies.VerifyPolicy(e.pub, 1, p.GetDocument(), p.GetSignature()); err == nil {
			t.Error("pushed signature also verifies as version 1")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no policy reached the subscribed stream")
	}
	_, b = e.do(t, "GET", "/api/v1/policies/current", admin, nil)
	if cur := decode[policyJSON](t, b); cur.Version != 2 {
		t.Errorf("current after publish = %+v", cur)
	}
	_, b = e.do(t, "GET", "/api/v1/policies/1", admin, nil)
	if v1 := decode[policyJSON](t, b); v1.Version != 1 || v1.Document != before.Document {
		t.Errorf("version 1 = %+v", v1)
	}
	_, b = e.do(t, "GET", "/api/v1/policies", e.tokens[store.RoleAnalyst], nil)
	list := decode[[]policyJSON](t, b)
	if len(list) != 2 || list[0].Version != 2 || list[1].Version != 1 || list[0].Document != "" {
		t.Errorf("policy list = %+v (newest first, without documents)", list)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/policies/two", admin, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /api/v1/policies/two: status %d, want 400", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/policies/9", admin, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/v1/policies/9: status %d, want 404", resp.StatusCode)
	}
}

// History tools: validate without publishing, diff two versions, roll back
// by publishing an old document as a new version (agents refuse older
// version numbers).
func TestPolicyValidateDiffRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	doc := []byte("name: Only Jitsi\ndefault: forbidden\napps:\n  jitsi-meet:\n    status: approved\n")

	resp, b := e.do(t, "POST", "/api/v1/policies/validate", admin, doc)
	if resp.StatusCode != http.StatusOK || decode[map[string]string](t, b)["name"] != "Only Jitsi" {
		t.Fatalf("validate: %d %s", resp.StatusCode, b)
	}
	resp, b = e.do(t, "POST", "/api/v1/policies/validate", admin, []byte("name: x\napps:\n  zoom: {status: maybe}\n"))
	if msg := decode[map[string]string](t, b)["error"]; resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "policy:3: field apps.zoom.status") {
		t.Errorf("validate broken: %d %s", resp.StatusCode, b)
	}
	if ps, _ := e.store.Policies(t.Context()); len(ps) != 1 {
		t.Fatalf("validate published something: %d versions", len(ps))
	}

	if resp, b := e.do(t, "POST", "/api/v1/policies?comment=test", admin, doc); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, b)
	}
	_, b = e.do(t, "GET", "/api/v1/policies/2/diff", e.tokens[store.RoleAnalyst], nil)
	d := decode[apitypes.PolicyDiff](t, b)
	if d.From != 1 || d.To != 2 || !strings.Contains(d.Diff, "--- version 1 (European default)") ||
		!strings.Contains(d.Diff, "+++ version 2 (Only Jitsi)") || !strings.Contains(d.Diff, "+default: forbidden") {
		t.Errorf("diff 1→2 = %+v", d)
	}
	_, b = e.do(t, "GET", "/api/v1/policies/current/diff?against=2", admin, nil)
	if d := decode[apitypes.PolicyDiff](t, b); d.From != 2 || d.To != 2 || d.Diff != "" {
		t.Errorf("diff of a version with itself = %+v, want empty", d)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/policies/2/diff?against=x", admin, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("diff against x: %d, want 400", resp.StatusCode)
	}

	sub := e.hub.Subscribe("dev-1")
	defer e.hub.Unsubscribe(sub)
	resp, b = e.do(t, "POST", "/api/v1/policies/1/rollback?comment=back+to+the+default", admin, nil)
	rolled := decode[policyJSON](t, b)
	_, b1 := e.do(t, "GET", "/api/v1/policies/1", admin, nil)
	if resp.StatusCode != http.StatusCreated || rolled.Version != 3 || rolled.Document != decode[policyJSON](t, b1).Document ||
		!strings.Contains(rolled.PublishedBy, "rollback to version 1") {
		t.Errorf("rollback: %d %+v", resp.StatusCode, rolled)
	}
	select {
	case p := <-sub.C:
		if p.GetVersion() != 3 {
			t.Errorf("rollback pushed version %d, want 3", p.GetVersion())
		}
	case <-time.After(5 * time.Second):
		t.Error("the rollback did not reach the agent streams")
	}
	if resp, _ := e.do(t, "POST", "/api/v1/policies/9/rollback?comment=x", admin, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rollback to a missing version: %d, want 404", resp.StatusCode)
	}
}

func TestEnrollmentSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	type secretJSON struct {
		ID          string     `json:"id"`
		Description string     `json:"description"`
		Expires     *time.Time `json:"expires"`
		Revoked     *time.Time `json:"revoked"`
		Value       string     `json:"value"`
	}
	resp, b := e.do(t, "POST", "/api/v1/enrollment-secrets", admin, []byte(`{"description": "laptops", "ttl_seconds": 3600}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	created := decode[secretJSON](t, b)
	if !strings.HasPrefix(created.Value, "vcg_enroll_") || created.Description != "laptops" || created.Expires == nil {
		t.Errorf("created = %+v", created)
	}
	stored, err := e.store.EnrollmentSecretByHash(t.Context(), auth.Hash(created.Value))
	if err != nil || stored.ID != created.ID || !stored.Usable(time.Now()) {
		t.Errorf("stored secret = %+v, %v", stored, err)
	}

	for _, body := range []string{`{"ttl_seconds": -1}`, `{"descr": "typo"}`, `not json`} {
		if resp, b := e.do(t, "POST", "/api/v1/enrollment-secrets", admin, []byte(body)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("create with %s: %d %s", body, resp.StatusCode, b)
		}
	}

	_, b = e.do(t, "GET", "/api/v1/enrollment-secrets", admin, nil)
	list := decode[[]secretJSON](t, b)
	if len(list) != 1 || list[0].ID != created.ID || list[0].Value != "" {
		t.Errorf("list = %+v (the value must not be listed)", list)
	}
	resp, b = e.do(t, "POST", "/api/v1/enrollment-secrets/"+created.ID+"/revoke", admin, nil)
	if resp.StatusCode != http.StatusOK || decode[secretJSON](t, b).Revoked == nil {
		t.Errorf("revoke: %d %s", resp.StatusCode, b)
	}
	if stored, _ := e.store.EnrollmentSecretByHash(t.Context(), auth.Hash(created.Value)); stored.Usable(time.Now()) {
		t.Error("revoked secret still usable")
	}
	if resp, _ := e.do(t, "POST", "/api/v1/enrollment-secrets/es_nope/revoke", admin, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", resp.StatusCode)
	}
}

func TestDevicesAndEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	analyst := e.tokens[store.RoleAnalyst]
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := e.store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "laptop-1", OS: "linux", Enrolled: now}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeviceConnected(ctx, "dev-1", &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"}, now); err != nil {
		t.Fatal(err)
	}
	app := &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom Workplace", Pid: 42, Started: timestamppb.New(now),
		Exe: "/opt/zoom/zoom", Verdict: vcguardv1.Verdict_VERDICT_RESTRICTED}
	if _, err := e.store.IngestEvents(ctx, "dev-1", []*vcguardv1.Event{
		{Seq: 1, Time: timestamppb.New(now), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: app}}},
		{Seq: 2, Time: timestamppb.New(now), Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}},
	}, now); err != nil {
		t.Fatal(err)
	}

	_, b := e.do(t, "GET", "/api/v1/devices", analyst, nil)
	page := decode[devicePage](t, b)
	devs := page.Devices
	if len(devs) != 1 || devs[0].ID != "dev-1" || !devs[0].Online || devs[0].PolicyVersion != 1 || page.NextCursor != "" ||
		devs[0].RunningApps != 1 || devs[0].WorstVerdict != "restricted" || len(devs[0].Running) != 1 || devs[0].Running[0].AppID != "zoom" {
		t.Errorf("devices = %s", b)
	}
	if bytes.Contains(b, []byte(`"apps"`)) {
		t.Errorf("the device list inlines apps: %s", b)
	}
	// The dashboard's filters and orders, on the API too.
	for q, want := range map[string]int{"app=zoom": 1, "app=slack": 0, "seen=within-1h": 1, "seen=over-1h": 0, "sort=-last_seen": 1, "sort=verdict&os=linux": 1} {
		resp, b := e.do(t, "GET", "/api/v1/devices?"+q, analyst, nil)
		if got := len(decode[devicePage](t, b).Devices); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("devices?%s: %d, %d devices; want %d", q, resp.StatusCode, got, want)
		}
	}
	for q, param := range map[string]string{"seen=yesterday": "seen", "sort=colour": "sort"} {
		resp, b := e.do(t, "GET", "/api/v1/devices?"+q, analyst, nil)
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte(param)) {
			t.Errorf("devices?%s: %d %s; want 400 naming %s", q, resp.StatusCode, b, param)
		}
	}
	resp, b := e.do(t, "GET", "/api/v1/devices/dev-1", analyst, nil)
	if d := decode[apitypes.Device](t, b); resp.StatusCode != http.StatusOK || d.Hostname != "laptop-1" || d.EventsStored != 2 ||
		len(d.Apps) != 1 || d.Apps[0].AppID != "zoom" || !d.Apps[0].Running || d.Apps[0].Verdict != "restricted" || d.AppsTruncated {
		t.Errorf("device: %d %s", resp.StatusCode, b)
	}
	if !bytes.Contains(b, []byte(`"events_stored": 2`)) {
		t.Errorf("device: no events_stored: %s", b)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/devices/dev-2", analyst, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown device: %d", resp.StatusCode)
	}

	_, b = e.do(t, "GET", "/api/v1/events?device=dev-1&type=app_started", analyst, nil)
	evs := decode[eventPage](t, b).Events
	if len(evs) != 1 || evs[0].AppID != "zoom" || evs[0].PID != 42 || evs[0].Process != "zoom" || evs[0].Seq != 1 {
		t.Errorf("events = %+v", evs)
	}
	_, b = e.do(t, "GET", "/api/v1/events?limit=1", analyst, nil)
	if p := decode[eventPage](t, b); len(p.Events) != 1 || p.Events[0].Seq != 2 || p.NextCursor == "" {
		t.Errorf("limited events = %+v", p)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=ten", "cursor=nonsense", "type=bogus"} {
		if resp, _ := e.do(t, "GET", "/api/v1/events?"+q, analyst, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("events?%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}
