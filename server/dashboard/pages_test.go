package dashboard_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/store"
)

// loggedIn is a browser with a logged-in session of role, and its CSRF
// token.
func (e *env) loggedIn(t *testing.T, role store.Role) (*browser, string) {
	t.Helper()
	b := e.browser(t)
	a := e.accounts[role]
	if resp, _ := b.login(a.Username, a.Password, e.code(t, a)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, body := b.get(homeOf(role))
	return b, formCSRF(t, body)
}

func homeOf(role store.Role) string {
	if role == store.RoleAuditor {
		return "/audit"
	}
	return "/"
}

func TestDevicesFiltersAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.store.CreateDevice(t.Context(), store.Device{ID: "dev-2", Hostname: "=cmd|' /C calc'!A0", OS: "windows",
		Group: "sales", Enrolled: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b, _ := e.loggedIn(t, store.RoleAnalyst)
	for query, want := range map[string][]string{
		"":                      {"dev-1", "dev-2"},
		"?q=LAPTOP":             {"dev-1"},
		"?q=dev-2":              {"dev-2"},
		"?os=windows":           {"dev-2"},
		"?group=sales":          {"dev-2"},
		"?status=online":        {},
		"?status=stale":         {"dev-1", "dev-2"},
		"?verdict=forbidden":    {},
		"?os=linux&group=sales": {},
	} {
		_, body := b.get("/devices" + query)
		for _, id := range []string{"dev-1", "dev-2"} {
			shown := strings.Contains(body, `data-device="`+id+`"`)
			if shown != contains(want, id) {
				t.Errorf("/devices%s: %s shown %v, want %v", query, id, shown, !shown)
			}
		}
		resp, csvBody := b.get("/devices.csv" + query)
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
			t.Errorf("/devices.csv%s: Content-Disposition %q", query, cd)
		}
		rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil || len(rows) != len(want)+1 {
			t.Errorf("/devices.csv%s: %d rows, %v; want %d and a header", query, len(rows), err, len(want))
		}
		var live struct {
			Devices  []struct{ ID string } `json:"devices"`
			Counters struct{ Total int }   `json:"counters"`
		}
		_, liveBody := b.get("/live.json" + query)
		if err := json.Unmarshal([]byte(liveBody), &live); err != nil || len(live.Devices) != len(want) || live.Counters.Total != 2 {
			t.Errorf("/live.json%s = %.300s, %v", query, liveBody, err)
		}
	}
	_, csvBody := b.get("/devices.csv?os=windows")
	if !strings.Contains(csvBody, `'=cmd|' /C calc'!A0`) {
		t.Errorf("the formula in a hostname is not defused:\n%s", csvBody)
	}
	_, body := b.get("/apps")
	if !strings.Contains(body, "<h1>Apps</h1>") {
		t.Errorf("apps page: %.300s", body)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestRevokeDevicePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	_, body := b.get("/devices/dev-1")
	if !strings.Contains(body, `id="revoke-form"`) {
		t.Fatal("device page has no revoke form for an admin")
	}
	// Without the confirm box: a confirmation page, nothing revoked.
	resp, body := b.post("/devices/dev-1/revoke", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Yes, revoke laptop-one") {
		t.Errorf("revoke without confirm: %d", resp.StatusCode)
	}
	if d, _ := e.store.Device(t.Context(), "dev-1"); !d.Revoked.IsZero() {
		t.Fatal("revoked without confirmation")
	}
	resp, _ = b.post("/devices/dev-1/revoke", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	_, body = b.get("/devices/dev-1?revoked=1")
	if !strings.Contains(body, `<span class="revoked">revoked</span>`) || strings.Contains(body, `id="revoke-form"`) {
		t.Errorf("device page after revoking:\n%.3000s", body)
	}
	if log, _ := e.store.AuditLog(t.Context(), store.AuditFilter{Action: "device_revoke"}); len(log) != 1 || log[0].Actor != "it-admin" {
		t.Errorf("audit log: %+v", log)
	}
	// Analysts read the device page without the form.
	a, _ := e.loggedIn(t, store.RoleAnalyst)
	if _, body := a.get("/devices/dev-1"); strings.Contains(body, "revoke-form") {
		t.Error("an analyst sees the revoke form")
	}
}

func TestPolicyEditor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	resp, body := b.post("/policies/validate", url.Values{"csrf": {csrf}, "document": {"name: x\r\napps:\r\n  zoom:\r\n    status: maybe\r\n"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "policy:4: field apps.zoom.status") {
		t.Errorf("validate: %d\n%.3000s", resp.StatusCode, body)
	}
	doc := "name: Strict\r\napps:\r\n  zoom:\r\n    status: forbidden\r\n"
	if _, body := b.post("/policies/diff", url.Values{"csrf": {csrf}, "document": {doc}}); !strings.Contains(body, `<span class="diff-add">&#43;name: Strict</span>`) {
		t.Errorf("diff:\n%.3000s", body)
	}
	resp, _ = b.post("/policies", publishForm(csrf, doc, "forbid Zoom"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/policies?published=2" {
		t.Fatalf("publish: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	p, err := e.store.CurrentPolicy(t.Context())
	if err != nil || p.Version != 2 || strings.Contains(string(p.Document), "\r") {
		t.Errorf("published %d %q, %v", p.Version, p.Document, err)
	}
	resp, _ = b.post("/policies/1/rollback", url.Values{"csrf": {csrf}, "comment": {"back to the default"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rollback: %d", resp.StatusCode)
	}
	if p, _ := e.store.CurrentPolicy(t.Context()); p.Version != 3 || p.Name != "European default" {
		t.Errorf("after rollback: version %d %q", p.Version, p.Name)
	}
	_, body = b.get("/policies/2")
	if !strings.Contains(body, "Policy version 2: Strict") {
		t.Errorf("version page:\n%.2000s", body)
	}
	// A stored version that no longer validates (the catalog changed) is
	// not published again: the editor shows why.
	stale, err := e.store.PublishPolicy(t.Context(), store.NewPolicy{Name: "Stale", Document: []byte("name: Stale\napps:\n  retired-tool: {status: approved}\n"), By: "test",
		At: time.Now()}, func(uint64, []byte) []byte { return []byte("sig") }, store.AuditEntry{At: time.Now(), Actor: "test", Action: "policy_publish"})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.post(fmt.Sprintf("/policies/%d/rollback", stale.Version), url.Values{"csrf": {csrf}, "comment": {"stale"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "retired-tool") {
		t.Errorf("rollback to a version that no longer validates: %d\n%.2000s", resp.StatusCode, body)
	}
	// Analysts read the history but get no editor.
	a, _ := e.loggedIn(t, store.RoleAnalyst)
	if _, body := a.get("/policies"); !strings.Contains(body, `id="policy-history"`) || strings.Contains(body, `id="policy-editor"`) {
		t.Error("analyst's policies page: want the history without the editor")
	}
}

func TestSecretsAndAdminsShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	resp, body := b.post("/secrets", url.Values{"csrf": {csrf}, "description": {"Sales laptops"}, "group": {"sales"}, "ttl": {"30d"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="secret-value">vcg_enroll_`) {
		t.Fatalf("create secret: %d\n%.3000s", resp.StatusCode, body)
	}
	if _, body := b.get("/secrets"); strings.Contains(body, "vcg_enroll_") || !strings.Contains(body, "Sales laptops") {
		t.Error("the secrets list shows a secret's value, or lacks the new one")
	}
	if resp, _ := b.post("/secrets", url.Values{"csrf": {csrf}, "description": {"x"}, "group": {"no spaces"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad group: %d", resp.StatusCode)
	}
	resp, body = b.post("/admins", url.Values{"csrf": {csrf}, "username": {"carol"}, "role": {"auditor"}})
	// An invite link, no password or TOTP secret on screen.
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="admin-invite">https://`) || !strings.Contains(body, "/invite/vcgi_") ||
		strings.Contains(body, "otpauth://") || strings.Contains(body, `id="admin-password"`) {
		t.Fatalf("create admin: %d\n%.3000s", resp.StatusCode, body)
	}
	if _, body := b.get("/admins"); strings.Contains(body, "/invite/vcgi_") || !strings.Contains(body, `data-admin="carol"`) || !strings.Contains(body, "invited, until") {
		t.Error("the admins list shows the invite link again, or lacks the new account and its state")
	}
	if resp, _ := b.post("/admins/carol/disable", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disable: %d", resp.StatusCode)
	}
	if adm, _ := e.store.AdminByUsername(t.Context(), "carol"); adm.Enabled() {
		t.Error("carol still enabled")
	}
}
