package dashboard_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	adminsvc "github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

var (
	inviteLink   = regexp.MustCompile(`id="admin-invite">(https://[^<]+)</code>`)
	inviteSecret = regexp.MustCompile(`id="invite-secret">([A-Z2-7 ]+)</code>`)
	totpSecret   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	tokenValue   = regexp.MustCompile(`id="token-value">(vcg_[A-Za-z0-9_-]+)</code>`)
)

// accountEnv is newEnv with the admin service on the login clock (invite
// expiry, enrolment codes) and the server's log kept, to look for secrets.
func accountEnv(t *testing.T) (*env, *bytes.Buffer) {
	e := newEnv(t)
	e.te.Service.Clock = e.clock
	e.te.API.Tokens.Now = e.clock
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	e.te.Service.Logger, e.dash.Logger = logger, logger
	return e, &logs
}

// invite makes an account through the admins page and returns the path of
// its invite link.
func (e *env) invite(t *testing.T, b *browser, csrf, username, role string) string {
	t.Helper()
	resp, body := b.post("/admins", url.Values{"csrf": {csrf}, "username": {username}, "role": {role}})
	m := inviteLink.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("invite %s: %d\n%.2000s", username, resp.StatusCode, body)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func secretOf(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no TOTP secret on the page:\n%.3000s", body)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := auth.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An invite link: opened, it shows a QR code and the secret; it refuses a
// weak password and a wrong code (staying usable), sets the account up
// once with a right one, and is refused the second time; the account
// cannot log in before. An expired link is refused; the link never
// reaches the log.
func TestInviteLifecycle(t *testing.T) {
	t.Parallel()
	e, logs := accountEnv(t)
	admin, csrf := e.loggedIn(t, store.RoleAdmin)
	path := e.invite(t, admin, csrf, "carol", "analyst")
	token := strings.TrimPrefix(path, "/invite/")

	// Before the invite is used, carol cannot log in with anything.
	if resp, _ := e.browser(t).login("carol", "", "000000"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login of an account not set up: %d", resp.StatusCode)
	}

	carol := e.browser(t)
	resp, body := carol.get(path)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img"`) ||
		!strings.Contains(body, `id="invite-username">carol<`) {
		t.Fatalf("invite page: %d\n%.3000s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("invite page Cache-Control %q, want no-store", cc)
	}
	secret := secretOf(t, inviteSecret, body)
	formCSRFValue := formCSRF(t, body)
	answer := func(pw, pw2, code string) (*http.Response, string) {
		return carol.post(path, url.Values{"csrf": {formCSRFValue}, "password": {pw}, "password2": {pw2}, "code": {code}})
	}
	const pw = "correct horse battery staple"
	// No CSRF token: refused.
	if resp, _ := carol.post(path, url.Values{"password": {pw}, "password2": {pw}, "code": {codeAt(t, secret, e.clock())}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the form's CSRF token: %d, want 403", resp.StatusCode)
	}
	for name, c := range map[string][3]string{
		"short password":   {"short", "short", codeAt(t, secret, e.clock())},
		"passwords differ": {pw, pw + "!", codeAt(t, secret, e.clock())},
		"no password":      {"", "", codeAt(t, secret, e.clock())},
	} {
		if resp, body := answer(c[0], c[1], c[2]); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error"`) {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	wrong := codeAt(t, secret, e.clock().Add(-10*time.Minute))
	if resp, body := answer(pw, pw, wrong); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "code does not match") {
		t.Errorf("wrong TOTP code: %d\n%.2000s", resp.StatusCode, body)
	}
	if a, _ := e.store.AdminByUsername(t.Context(), "carol"); !a.Pending() {
		t.Fatal("a refused answer set the account up")
	}
	resp, body = answer(pw, pw, codeAt(t, secret, e.clock()))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="invite-done"`) {
		t.Fatalf("right answer: %d\n%.2000s", resp.StatusCode, body)
	}
	// Used twice: refused, and nothing changes.
	if resp, body := answer("another password 123", "another password 123", codeAt(t, secret, e.clock().Add(30*time.Second))); resp.StatusCode != http.StatusGone ||
		!strings.Contains(body, "used already or has expired") {
		t.Errorf("second use: %d", resp.StatusCode)
	}
	if resp, _ := carol.get(path); resp.StatusCode != http.StatusGone {
		t.Errorf("opening a used link: %d, want 410", resp.StatusCode)
	}
	// Carol logs in (a later code: the one that confirmed is used).
	e.advance(30 * time.Second)
	if resp, _ := carol.login("carol", pw, codeAt(t, secret, e.clock())); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("carol's login after the invite: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Expired: refused.
	late := e.invite(t, admin, csrf, "dave", "auditor")
	if resp, _ := e.browser(t).get(late); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh invite: %d", resp.StatusCode)
	}
	e.advance(72*time.Hour + time.Second)
	if resp, body := e.browser(t).get(late); resp.StatusCode != http.StatusGone || strings.Contains(body, "<svg") {
		t.Errorf("expired invite: %d", resp.StatusCode)
	}
	// Unknown and malformed links.
	for _, p := range []string{"/invite/" + auth.InvitePrefix + strings.Repeat("A", 43), "/invite/nonsense", "/invite/" + token + "x"} {
		if resp, _ := e.browser(t).get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), strings.TrimPrefix(late, "/invite/")) {
		t.Error("an invite token is in the server log")
	}

	// Audited: the invites, the refusals, the use.
	entries, err := e.store.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, en := range entries {
		counts[en.Action]++
		if strings.Contains(string(en.Detail)+en.Target, token) {
			t.Errorf("audit entry %s carries the invite token", en.Action)
		}
	}
	if counts["admin_invite"] != 2 || counts["invite_redeem"] != 1 || counts["invite_refused"] < 5 {
		t.Errorf("audit actions %v", counts)
	}
}

// Wrong, used and expired links count against the address like failed
// logins: enough of them lock it out of every invite link.
func TestInviteRateLimited(t *testing.T) {
	t.Parallel()
	e, _ := accountEnv(t)
	e.dash.Login.Limits.IPFailures = 3
	admin, csrf := e.loggedIn(t, store.RoleAdmin)
	path := e.invite(t, admin, csrf, "carol", "")
	b := e.browser(t)
	for range 3 {
		b.get("/invite/" + auth.InvitePrefix + strings.Repeat("B", 43))
	}
	if resp, _ := b.get(path); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a good link from a locked-out address: %d, want 429 with Retry-After", resp.StatusCode)
	}
}

// The admins page offers the least privileged role first (the form's
// default), and an admin resets another account by a new invite.
func TestAdminsDefaultRoleAndReset(t *testing.T) {
	t.Parallel()
	e, _ := accountEnv(t)
	admin, csrf := e.loggedIn(t, store.RoleAdmin)
	_, body := admin.get("/admins")
	if !strings.Contains(body, `<select id="role" name="role"><option value="auditor">auditor</option>`) {
		t.Errorf("the role picker does not default to auditor:\n%.3000s", body)
	}
	// A form without a role: the least privileged.
	e.invite(t, admin, csrf, "erin", "")
	if a, _ := e.store.AdminByUsername(t.Context(), "erin"); a.Role != store.RoleAuditor {
		t.Errorf("erin's role %q, want auditor", a.Role)
	}
	analyst := e.accounts[store.RoleAnalyst]
	e.advance(30 * time.Second)
	other, _ := e.loggedIn(t, store.RoleAnalyst)
	resp, body := admin.post("/admins/"+analyst.Username+"/invite", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusOK || !inviteLink.MatchString(body) || !strings.Contains(body, "was reset") {
		t.Fatalf("reset: %d\n%.2000s", resp.StatusCode, body)
	}
	if resp, _ := other.get("/"); !isRedirectToLogin(resp) {
		t.Error("the reset account's session survived")
	}
	e.advance(30 * time.Second)
	if resp, _ := e.browser(t).login(analyst.Username, analyst.Password, e.code(t, analyst)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old credentials after a reset: %d, want 401", resp.StatusCode)
	}
	// Not oneself.
	me := e.accounts[store.RoleAdmin].Username
	if resp, _ := admin.post("/admins/"+me+"/invite", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("resetting oneself: %d, want 400", resp.StatusCode)
	}
}

// Changing one's password and authenticator needs the current password
// and a current code; a password change ends the other sessions.
func TestSelfServiceNeedsReauthentication(t *testing.T) {
	t.Parallel()
	e, _ := accountEnv(t)
	a := e.accounts[store.RoleAuditor]
	b, csrf := e.loggedIn(t, store.RoleAuditor)
	e.advance(30 * time.Second)
	other, _ := e.loggedIn(t, store.RoleAuditor)
	if resp, body := b.get("/account"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="password-form"`) {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	const newPW = "a much longer new password"
	change := func(current, code string) (*http.Response, string) {
		return b.post("/account/password", url.Values{"csrf": {csrf}, "current_password": {current}, "current_code": {code},
			"new_password": {newPW}, "new_password2": {newPW}})
	}
	e.advance(30 * time.Second)
	if resp, _ := change(a.Password, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a code: %d, want 401", resp.StatusCode)
	}
	if resp, _ := change("wrong password!", e.code(t, a)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong current password: %d, want 401", resp.StatusCode)
	}
	e.advance(30 * time.Second)
	if resp, body := change(a.Password, e.code(t, a)); resp.StatusCode != http.StatusOK || !strings.Contains(body, "password was changed") {
		t.Fatalf("change: %d\n%.2000s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/account"); resp.StatusCode != http.StatusOK {
		t.Error("the session that changed the password ended")
	}
	if resp, _ := other.get("/audit"); !isRedirectToLogin(resp) {
		t.Error("another session survived the password change")
	}
	e.advance(30 * time.Second)
	if resp, _ := e.browser(t).login(a.Username, a.Password, e.code(t, a)); resp.StatusCode != http.StatusUnauthorized {
		t.Error("the old password still logs in")
	}
	e.advance(30 * time.Second)
	if resp, _ := e.browser(t).login(a.Username, newPW, e.code(t, a)); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new password does not log in: %d", resp.StatusCode)
	}

	// TOTP reset: re-authentication first, then a code of the new secret.
	e.advance(30 * time.Second)
	if resp, _ := b.post("/account/totp", url.Values{"csrf": {csrf}, "current_password": {"nope nope nope"}, "current_code": {e.code(t, a)}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("TOTP reset with a wrong password: %d, want 401", resp.StatusCode)
	}
	if resp, _ := b.post("/account/totp/confirm", url.Values{"csrf": {csrf}, "code": {"123456"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("confirm before starting: %d, want 409", resp.StatusCode)
	}
	e.advance(30 * time.Second)
	resp, body := b.post("/account/totp", url.Values{"csrf": {csrf}, "current_password": {newPW}, "current_code": {e.code(t, a)}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="qr" role="img"`) {
		t.Fatalf("TOTP reset: %d\n%.2000s", resp.StatusCode, body)
	}
	secret := secretOf(t, totpSecret, body)
	if resp, _ := b.post("/account/totp/confirm", url.Values{"csrf": {csrf}, "code": {codeAt(t, secret, e.clock().Add(-5*time.Minute))}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("confirm with a wrong code: %d, want 400", resp.StatusCode)
	}
	if resp, body := b.post("/account/totp/confirm", url.Values{"csrf": {csrf}, "code": {codeAt(t, secret, e.clock())}}); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, "new authenticator is enrolled") {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	e.advance(30 * time.Second)
	if resp, _ := e.browser(t).login(a.Username, newPW, e.code(t, a)); resp.StatusCode != http.StatusUnauthorized {
		t.Error("the old authenticator still logs in")
	}
	e.advance(30 * time.Second)
	if resp, _ := e.browser(t).login(a.Username, newPW, codeAt(t, secret, e.clock())); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new authenticator does not log in: %d", resp.StatusCode)
	}
	entries, _ := e.store.AuditLog(t.Context(), store.AuditFilter{Actor: a.Username})
	counts := map[string]int{}
	for _, en := range entries {
		counts[en.Action]++
	}
	if counts["password_change"] != 1 || counts["totp_reset_start"] != 1 || counts["totp_reset"] != 1 || counts["reauth_failure"] < 3 {
		t.Errorf("audit actions of %s: %v", a.Username, counts)
	}
}

// API tokens in the dashboard: scoped to at most the creator's role,
// expiring, shown once, their last use recorded and shown; one revokes
// only one's own.
func TestTokensPage(t *testing.T) {
	t.Parallel()
	e, logs := accountEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAnalyst)
	_, body := b.get("/account/tokens")
	// Analysts and auditors read different things: neither role covers
	// the other, so an analyst's tokens are analyst tokens.
	if !strings.Contains(body, `<select id="token-role" name="role"><option value="analyst">analyst</option></select>`) {
		t.Errorf("an analyst is offered other roles than analyst:\n%.3000s", body)
	}
	// Above one's role: refused.
	for _, role := range []string{"admin", "auditor"} {
		if resp, body := b.post("/account/tokens", url.Values{"csrf": {csrf}, "role": {role}, "days": {"7"}}); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body, "cannot exceed yours") {
			t.Errorf("an analyst making an %s token: %d", role, resp.StatusCode)
		}
	}
	for _, days := range []string{"0", "367", "x"} {
		if resp, _ := b.post("/account/tokens", url.Values{"csrf": {csrf}, "role": {"analyst"}, "days": {days}}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("days %q: %d, want 400", days, resp.StatusCode)
		}
	}
	resp, body := b.post("/account/tokens", url.Values{"csrf": {csrf}, "role": {"analyst"}, "days": {"7"}, "description": {"grafana"}})
	m := tokenValue.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create token: %d\n%.3000s", resp.StatusCode, body)
	}
	value := m[1]
	if strings.Contains(logs.String(), value) {
		t.Error("the token value is in the server log")
	}
	if _, body := b.get("/account/tokens"); strings.Contains(body, value) || !strings.Contains(body, "grafana") {
		t.Error("the list shows the value again, or lacks the token")
	}
	toks, err := e.store.APITokensOf(t.Context(), e.accounts[store.RoleAnalyst].Username)
	if err != nil || len(toks) != 1 || toks[0].Role != store.RoleAnalyst || !toks[0].LastUsed.IsZero() ||
		toks[0].Expires.Sub(toks[0].Created) != 7*24*time.Hour {
		t.Fatalf("stored tokens %+v, %v", toks, err)
	}
	// Use records the last use, shown on the page.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/devices", nil)
	req.Header.Set("Authorization", "Bearer "+value)
	apiResp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiResp.Body.Close()
	if apiResp.StatusCode != http.StatusOK {
		t.Fatalf("the new token: %d", apiResp.StatusCode)
	}
	toks, _ = e.store.APITokensOf(t.Context(), e.accounts[store.RoleAnalyst].Username)
	if toks[0].LastUsed.IsZero() {
		t.Fatal("last use not recorded")
	}
	if _, body := b.get("/account/tokens"); !strings.Contains(body, `<td class="last-used">`+toks[0].LastUsed.UTC().Format(time.RFC3339)) {
		t.Errorf("the page does not show the last use %v", toks[0].LastUsed)
	}
	// Someone else's token: not the analyst's to revoke.
	if resp, _ := b.post("/account/tokens/tok_admin/revoke", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking another's token: %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.post("/account/tokens/"+toks[0].ID+"/revoke", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("revoking one's own token: %d", resp.StatusCode)
	}
	// A token stops working with its account.
	e.advance(30 * time.Second)
	resp, body = b.post("/account/tokens", url.Values{"csrf": {csrf}, "days": {"7"}})
	second := tokenValue.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || second == nil {
		t.Fatalf("second token: %d", resp.StatusCode)
	}
	if _, err := e.te.Service.DisableAdmin(t.Context(), adminsvc.SystemActor, e.accounts[store.RoleAnalyst].Username); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/api/v1/devices", nil)
	req.Header.Set("Authorization", "Bearer "+second[1])
	if apiResp, err = e.srv.Client().Do(req); err != nil {
		t.Fatal(err)
	}
	apiResp.Body.Close()
	if apiResp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a token of a disabled account: %d, want 401", apiResp.StatusCode)
	}
	// An admin sees every token with its owner.
	admin, _ := e.loggedIn(t, store.RoleAdmin)
	if _, body := admin.get("/account/tokens"); !strings.Contains(body, "<th>Owner</th>") || !strings.Contains(body, `data-token="tok_admin"`) {
		t.Error("the admin's token page does not list every token with its owner")
	}
}
