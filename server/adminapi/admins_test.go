package adminapi_test

import (
	"errors"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	adminsvc "github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// auditPage is a page of GET /api/v1/audit.
type auditPage struct {
	Entries    []apitypes.AuditEntry `json:"entries"`
	NextCursor string                `json:"next_cursor"`
}

// auditActions returns "actor action target" of every entry, oldest first.
func auditActions(t *testing.T, e *env, token string) []apitypes.AuditEntry {
	t.Helper()
	resp, b := e.do(t, "GET", "/api/v1/audit?limit=1000", token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/audit: %d %s", resp.StatusCode, b)
	}
	entries := decode[auditPage](t, b).Entries
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	resp, b := e.do(t, "POST", "/api/v1/tokens", admin, []byte(`{"description": "grafana", "role": "analyst"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	created := decode[apitypes.Token](t, b)
	if created.Role != string(store.RoleAnalyst) || !strings.HasPrefix(created.Value, "vcg_analyst_") || created.Description != "grafana" {
		t.Errorf("created = %+v", created)
	}
	// The new token works, with its role.
	if resp, _ := e.do(t, "GET", "/api/v1/devices", created.Value, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("new analyst token reading devices: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/tokens", created.Value, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("new analyst token listing tokens: %d, want 403", resp.StatusCode)
	}
	// Every token made through the API expires: 90 days by default.
	if created.Expires == nil || created.Expires.Sub(created.Created) != adminsvc.DefaultTokenTTL {
		t.Errorf("created token expires %v, want %v after its creation", created.Expires, adminsvc.DefaultTokenTTL)
	}
	for _, body := range []string{`{"role": "root"}`, `{"role": "admin", "scope": "x"}`, `[]`,
		`{"role": "admin", "ttl_seconds": -1}`, `{"role": "admin", "ttl_seconds": 59}`, `{"role": "admin", "ttl_seconds": 40000000}`,
		`{"role": "admin", "description": "` + strings.Repeat("x", 201) + `"}`} {
		if resp, b := e.do(t, "POST", "/api/v1/tokens", admin, []byte(body)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("create with %.40s: %d %s", body, resp.StatusCode, b)
		}
	}
	_, b = e.do(t, "GET", "/api/v1/tokens", admin, nil)
	list := decode[[]apitypes.Token](t, b)
	if len(list) != 4 || list[0].ID != created.ID || list[0].Value != "" {
		t.Errorf("list = %+v (newest first, never a value)", list)
	}
	resp, b = e.do(t, "POST", "/api/v1/tokens/"+created.ID+"/revoke", admin, nil)
	if resp.StatusCode != http.StatusOK || decode[apitypes.Token](t, b).Revoked == nil {
		t.Errorf("revoke: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.do(t, "GET", "/api/v1/devices", created.Value, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.do(t, "POST", "/api/v1/tokens/tok_nope/revoke", admin, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", resp.StatusCode)
	}
	log := auditActions(t, e, e.tokens[store.RoleAuditor])
	if len(log) != 2 || log[0].Action != "token_create" || log[1].Action != "token_revoke" ||
		log[0].Actor != "token:tok_admin" || log[0].Target != "token:"+created.ID || log[0].RemoteAddr != "127.0.0.1" ||
		decode[map[string]any](t, log[0].Detail)["role"] != "analyst" {
		t.Errorf("audit log = %+v", log)
	}
}

func TestAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	resp, b := e.do(t, "POST", "/api/v1/admins", admin, []byte(`{"username": " Carol ", "role": "auditor"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	// An invite link, no password or TOTP secret.
	carol := decode[apitypes.Admin](t, b)
	u, err := url.Parse(carol.InviteURL)
	if carol.Username != "carol" || carol.Role != string(store.RoleAuditor) || carol.Password != "" || carol.TOTPURL != "" || err != nil ||
		!carol.Pending || !strings.HasPrefix(u.Path, "/invite/vcgi_") || u.Host != strings.TrimPrefix(e.srv.URL, "http://") ||
		carol.InviteExpires == nil || carol.InviteExpires.Sub(carol.Created) != adminsvc.DefaultInviteTTL {
		t.Errorf("created = %+v", carol)
	}
	firstInvite, err := auth.ParseInviteToken(strings.TrimPrefix(u.Path, "/invite/"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.store.AdminByUsername(t.Context(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Pending() || strings.Contains(string(b), stored.TOTPSecret) {
		t.Errorf("carol is set up before her invite was used, or the answer carries her TOTP secret")
	}
	// No role: the least privileged.
	resp, b = e.do(t, "POST", "/api/v1/admins", admin, []byte(`{"username": "dave"}`))
	if dave := decode[apitypes.Admin](t, b); resp.StatusCode != http.StatusCreated || dave.Role != "auditor" {
		t.Errorf("create without a role: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.do(t, "POST", "/api/v1/admins", admin, []byte(`{"username": "carol", "role": "admin"}`)); resp.StatusCode != http.StatusConflict {
		t.Errorf("a second carol: %d, want 409", resp.StatusCode)
	}
	for _, body := range []string{`{"username": "ca rol", "role": "admin"}`, `{"username": "erin", "role": "root"}`,
		`{"username": "erin", "role": "admin", "password": "mine"}`} {
		if resp, b := e.do(t, "POST", "/api/v1/admins", admin, []byte(body)); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("create with %s: %d %s", body, resp.StatusCode, b)
		}
	}
	_, b = e.do(t, "GET", "/api/v1/admins", admin, nil)
	list := decode[[]apitypes.Admin](t, b)
	if len(list) != 2 || list[0].Username != "carol" || list[0].InviteURL != "" || !list[0].Pending {
		t.Errorf("list = %+v", list)
	}

	// A reset makes a new invite link; the first stops working.
	resp, b = e.do(t, "POST", "/api/v1/admins/carol/invite", admin, nil)
	reset := decode[apitypes.Admin](t, b)
	if resp.StatusCode != http.StatusOK || reset.InviteURL == "" || reset.InviteURL == carol.InviteURL || reset.Password != "" {
		t.Errorf("reset: %d %+v", resp.StatusCode, reset)
	}
	if inv, _, err := e.store.InviteByHash(t.Context(), firstInvite); err != nil || inv.Used.IsZero() {
		t.Errorf("the first invite after a reset: %+v, %v; want used", inv, err)
	}

	// Carol, an auditor, may be disabled; the last enabled admin may not.
	resp, b = e.do(t, "POST", "/api/v1/admins/carol/disable", admin, nil)
	if resp.StatusCode != http.StatusOK || decode[apitypes.Admin](t, b).Disabled == nil {
		t.Errorf("disable: %d %s", resp.StatusCode, b)
	}
	resp, b = e.do(t, "POST", "/api/v1/admins/carol/enable", admin, nil)
	if resp.StatusCode != http.StatusOK || decode[apitypes.Admin](t, b).Disabled != nil {
		t.Errorf("enable: %d %s", resp.StatusCode, b)
	}
	// An account waiting for its invite cannot log in, so it does not
	// count as the last admin; root, set up, does.
	if resp, _ := e.do(t, "POST", "/api/v1/admins", admin, []byte(`{"username": "pending-admin", "role": "admin"}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create pending-admin: %d", resp.StatusCode)
	}
	e.te.AddAdmin(t, "root", store.RoleAdmin)
	if resp, b := e.do(t, "POST", "/api/v1/admins/pending-admin/disable", admin, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("disabling an admin not set up: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.do(t, "POST", "/api/v1/admins/root/disable", admin, nil); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(string(b), "last enabled admin") {
		t.Errorf("disabling the last admin: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.do(t, "POST", "/api/v1/admins/nobody/disable", admin, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("disable unknown: %d", resp.StatusCode)
	}
	var got []string
	for _, l := range auditActions(t, e, admin) {
		got = append(got, l.Actor+" "+l.Action+" "+l.Target)
	}
	want := []string{
		"token:tok_admin admin_invite admin:carol",
		"token:tok_admin admin_invite admin:dave",
		"token:tok_admin admin_invite_reset admin:carol",
		"token:tok_admin admin_disable admin:carol",
		"token:tok_admin admin_enable admin:carol",
		"token:tok_admin admin_invite admin:pending-admin",
		"system admin_add admin:root",
		"token:tok_admin admin_disable admin:pending-admin",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Operations used by the command line and first start.
	if _, err := e.te.Service.DisableAdmin(t.Context(), adminsvc.SystemActor, "root"); !errors.Is(err, adminsvc.ErrLastAdmin) {
		t.Errorf("DisableAdmin(last admin) = %v", err)
	}
}

// Every change through the API lands in the audit log with who, what,
// when and from where; auditors read it, analysts do not.
func TestAuditOfChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	start := time.Now().Add(-time.Second)
	steps := []struct{ method, path, body string }{
		{"POST", "/api/v1/policies?comment=only+Jitsi", "name: Only Jitsi\ndefault: forbidden\napps:\n  jitsi-meet:\n    status: approved\n"},
		{"POST", "/api/v1/policies/1/rollback?comment=back", ""},
		{"POST", "/api/v1/enrollment-secrets", `{"description": "laptops"}`},
	}
	for _, s := range steps {
		if resp, b := e.do(t, s.method, s.path, admin, []byte(s.body)); resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, resp.StatusCode, b)
		}
	}
	secrets, _ := e.store.EnrollmentSecrets(t.Context())
	if resp, _ := e.do(t, "POST", "/api/v1/enrollment-secrets/"+secrets[0].ID+"/revoke", admin, nil); resp.StatusCode != http.StatusOK {
		t.Fatal("revoke failed")
	}
	// Refused and read-only calls are not changes.
	e.do(t, "POST", "/api/v1/policies", admin, []byte("name: x\ndefalt: y\n"))
	e.do(t, "GET", "/api/v1/devices", admin, nil)

	log := auditActions(t, e, e.tokens[store.RoleAuditor])
	var got []string
	for _, l := range log {
		got = append(got, l.Action+" "+l.Target)
		if l.Actor != "token:tok_admin" || l.RemoteAddr != "127.0.0.1" || l.At.Before(start) || l.At.After(time.Now()) {
			t.Errorf("entry %+v: want actor token:tok_admin from 127.0.0.1 now", l)
		}
	}
	want := []string{"policy_publish policy:2", "policy_rollback policy:3", "enrollment_secret_create enrollment_secret:" + secrets[0].ID,
		"enrollment_secret_revoke enrollment_secret:" + secrets[0].ID}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if decode[map[string]any](t, log[1].Detail)["content_of_version"] != 1.0 {
		t.Errorf("rollback detail %s", log[1].Detail)
	}
	// Filters and paging.
	_, b := e.do(t, "GET", "/api/v1/audit?action=policy_publish", admin, nil)
	if l := decode[auditPage](t, b).Entries; len(l) != 1 || l[0].Target != "policy:2" {
		t.Errorf("filtered = %+v", l)
	}
	_, b = e.do(t, "GET", "/api/v1/audit?limit=1&before="+strconv.FormatInt(log[1].ID, 10), admin, nil)
	if p := decode[auditPage](t, b); len(p.Entries) != 1 || p.Entries[0].ID != log[0].ID || p.NextCursor != "" {
		t.Errorf("page before %d = %+v", log[1].ID, p)
	}
	// Paging with next_cursor walks every entry once.
	var walked []int64
	for cursor := ""; ; {
		_, b = e.do(t, "GET", "/api/v1/audit?limit=3&cursor="+cursor, admin, nil)
		p := decode[auditPage](t, b)
		for _, l := range p.Entries {
			walked = append(walked, l.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(walked) != len(log) || walked[0] != log[len(log)-1].ID || walked[len(walked)-1] != log[0].ID {
		t.Errorf("walked %v, want the %d entries newest first", walked, len(log))
	}
	for _, q := range []string{"limit=0", "limit=1001", "before=x", "before=-1", "cursor=x"} {
		if resp, _ := e.do(t, "GET", "/api/v1/audit?"+q, admin, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("audit?%s: %d, want 400", q, resp.StatusCode)
		}
	}
	if resp, _ := e.do(t, "GET", "/api/v1/audit", e.tokens[store.RoleAnalyst], nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst reading the audit log: %d, want 403", resp.StatusCode)
	}
}
