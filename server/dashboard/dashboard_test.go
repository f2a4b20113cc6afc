package dashboard_test

import (
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/dashboard"
	"github.com/vcguard/vcguard/server/store"
)

// env is the dashboard and JSON API on one HTTPS test server (as
// vcguard-server serves them), over a real store in a temporary directory.
type env struct {
	dash     *dashboard.Dashboard
	store    *store.Store
	srv      *httptest.Server
	tokens   map[store.Role]string
	accounts map[store.Role]adminapitest.Account
	te       *adminapitest.Env

	mu  sync.Mutex
	now time.Time // the login clock, for TOTP codes
}

// t1 is a fixed instant the login clock starts at.
var t1 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// code is the TOTP code of an account at the login clock, computed with
// pquerna/otp as an authenticator app would.
func (e *env) code(t *testing.T, a adminapitest.Account) string {
	t.Helper()
	c, err := totp.GenerateCode(a.TOTPSecret, e.clock())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := adminapitest.New(t)
	api, st := te.API, te.Store
	d, err := dashboard.New(api, api.Logger)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dash: d, store: st, tokens: te.Tokens, accounts: map[store.Role]adminapitest.Account{}, now: t1, te: te}
	d.Login.Now = e.clock
	for _, role := range adminapitest.Roles {
		e.accounts[role] = te.AddAdmin(t, "it-"+string(role), role)
	}
	if err := st.CreateDevice(t.Context(), store.Device{ID: "dev-1", Hostname: "laptop-one", OS: "linux", Enrolled: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	d.Register(mux)
	e.srv = httptest.NewTLSServer(dashboard.SecurityHeaders(mux))
	t.Cleanup(e.srv.Close)
	return e
}

// session stores a dashboard session directly and returns its cookie value
// and CSRF token.
func (e *env) session(t *testing.T, role store.Role, expires time.Time) (id, csrf string) {
	t.Helper()
	id, csrf = "sess-"+auth.NewID(), "csrf-"+auth.NewID()
	err := e.store.CreateSession(t.Context(), store.Session{Hash: auth.Hash(id), Subject: "token:tok_" + string(role), Role: role,
		CSRF: csrf, Created: time.Now().Add(-time.Hour), Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	return id, csrf
}

// client does not follow redirects, so the tests see them.
func (e *env) client(jar http.CookieJar) *http.Client {
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

type request struct {
	method, path string
	session      string     // cookie value; "" for none
	form         url.Values // POST body
}

func (e *env) do(t *testing.T, r request) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, e.srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.session != "" {
		req.AddCookie(&http.Cookie{Name: "vcguard_session", Value: r.session})
	}
	resp, err := e.client(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// pathOf turns a route pattern into a method and a concrete path, filling
// each wildcard with a record of that kind that exists (vals); a wildcard
// without one fails the test, so a new route cannot slip by untested.
func pathOf(t *testing.T, pattern string, vals map[string]string) (method, path string) {
	t.Helper()
	method, path, _ = strings.Cut(pattern, " ")
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{$}" {
			return ""
		}
		v, ok := vals[strings.Trim(w, "{}")]
		if !ok {
			t.Fatalf("route %q: no test value for wildcard %s", pattern, w)
		}
		return v
	})
	return method, path
}

// validForms are the form fields (besides csrf) with which each unsafe
// route's handler succeeds.
var validForms = map[string]url.Values{
	"POST /policies":                    publishForm("", "name: Strict\napps:\n  zoom:\n    status: forbidden\n", "route test"),
	"POST /policies/{version}/rollback": {"comment": {"route test"}},
	"POST /policies/validate":           {"document": {"name: Strict\napps:\n  zoom:\n    status: forbidden\n"}},
	"POST /policies/diff":               {"document": {"name: Strict\n"}},
	"POST /secrets":                     {"description": {"route test"}, "ttl": {"30d"}, "group": {"sales"}},
	"POST /admins":                      {"username": {"it-new"}, "role": {"analyst"}},
	"POST /devices/{id}/revoke":         {"confirm": {"yes"}},
	"POST /account/tokens":              {"description": {"route test"}, "role": {"auditor"}, "days": {"7"}},
	"POST /devices/bulk":                {"id": {"dev-1"}, "action": {"group"}, "group": {"sales"}},
}

// needsAccount are the unsafe routes whose handler needs the session of a
// real account (re-authentication with its password and code); the test
// sessions here are not, so account_test.go runs them.
var needsAccount = map[string]bool{
	"POST /account/password": true, "POST /account/totp": true, "POST /account/totp/confirm": true,
}

// dataKind says what a GET route answers besides HTML pages.
func dataKind(pattern string) string {
	switch {
	case strings.HasSuffix(pattern, ".csv"):
		return "text/csv"
	case strings.HasSuffix(pattern, ".json"):
		return "application/json"
	case strings.HasSuffix(pattern, "/live/events"):
		return "text/event-stream"
	}
	return ""
}

func isRedirectToLogin(resp *http.Response) bool {
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/login"
}

// TestRoutesAuthorization walks every route Register adds.
func TestRoutesAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	routes := e.dash.Routes()
	if len(routes) == 0 {
		t.Fatal("no routes")
	}
	expired, expiredCSRF := e.session(t, store.RoleAdmin, time.Now().Add(-time.Minute))
	spare := e.accounts[store.RoleAnalyst] // disabled and enabled again below
	secret, _, err := e.dash.API.Admin.CreateEnrollmentSecret(t.Context(), admin.SystemActor, admin.SecretSpec{Description: "route test"})
	if err != nil {
		t.Fatal(err)
	}
	invite, err := e.dash.API.Admin.InviteAdmin(t.Context(), admin.SystemActor, "route-invitee", "")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := e.dash.API.Admin.IssueAPIToken(t.Context(), admin.SystemActor, admin.TokenRequest{Role: store.RoleAuditor,
		CreatorRole: store.RoleAdmin, Owner: spare.Username})
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"id": "dev-1", "version": "1", "secret": secret.ID, "username": spare.Username, "app": "jitsi-meet",
		"invite": invite.Token, "tokenid": token.ID}
	_, otherCSRF := e.session(t, store.RoleAdmin, time.Now().Add(time.Hour))

	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.Pattern] {
			t.Errorf("route %q listed twice", r.Pattern)
		}
		seen[r.Pattern] = true
		if r.Session != (len(r.Roles) > 0) {
			t.Errorf("route %q: session %v with roles %v; a session route must list its roles, a public one none", r.Pattern, r.Session, r.Roles)
		}
		// Auditors see the audit log only; analysts never see it.
		auditPage := strings.HasSuffix(r.Pattern, " /audit")
		// Every role has its own account page.
		ownAccount := r.Pattern == "POST /logout" || strings.Contains(r.Pattern, " /account")
		if r.Session && !ownAccount && slices.Contains(r.Roles, store.RoleAuditor) != auditPage {
			t.Errorf("route %q: auditors allowed %v", r.Pattern, !auditPage)
		}
		if auditPage && slices.Contains(r.Roles, store.RoleAnalyst) {
			t.Errorf("route %q: analysts may read the audit log", r.Pattern)
		}
		method, path := pathOf(t, r.Pattern, vals)
		unsafe := method != http.MethodGet && method != http.MethodHead
		t.Run(r.Pattern, func(t *testing.T) {
			if !r.Session {
				resp, body := e.do(t, request{method: method, path: path})
				if unsafe {
					// The login form: its own CSRF token is required.
					if resp.StatusCode != http.StatusForbidden {
						t.Errorf("without the form's CSRF token: status %d, want 403", resp.StatusCode)
					}
				} else if strings.HasPrefix(path, "/oidc/") {
					// Single sign-on, not configured here: the routes
					// answer 404 (oidc_test.go signs in through them).
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("single sign-on route without a provider: status %d, want 404", resp.StatusCode)
					}
				} else if resp.StatusCode != http.StatusOK {
					t.Errorf("public page: status %d, want 200 (%.200s)", resp.StatusCode, body)
				}
				return
			}

			// No session, an unknown one, an expired one: to the login
			// page, whatever the method.
			for name, sess := range map[string]string{"no session": "", "unknown session": "sess-forged", "expired session": expired} {
				form := url.Values{"csrf": {expiredCSRF}}
				resp, _ := e.do(t, request{method: method, path: path, session: sess, form: form})
				if !isRedirectToLogin(resp) {
					t.Errorf("%s: status %d to %q, want 303 to /login", name, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
			// Every role the route does not list: 403, whatever the
			// CSRF token.
			for _, role := range adminapitest.Roles {
				if slices.Contains(r.Roles, role) {
					continue
				}
				id, csrf := e.session(t, role, time.Now().Add(time.Hour))
				if resp, _ := e.do(t, request{method: method, path: path, session: id, form: url.Values{"csrf": {csrf}}}); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", role, resp.StatusCode)
				}
			}

			if !unsafe {
				for _, role := range r.Roles {
					id, csrf := e.session(t, role, time.Now().Add(time.Hour))
					resp, body := e.do(t, request{method: method, path: path, session: id})
					if kind := dataKind(r.Pattern); kind != "" {
						if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), kind) {
							t.Errorf("%s: status %d %q, want %s", role, resp.StatusCode, resp.Header.Get("Content-Type"), kind)
						}
						continue
					}
					if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
						t.Errorf("%s: status %d %q, want an HTML page", role, resp.StatusCode, resp.Header.Get("Content-Type"))
					}
					if !strings.Contains(body, `name="csrf" value="`+csrf+`"`) {
						t.Errorf("%s: the page does not carry the session's CSRF token for its forms", role)
					}
				}
				return
			}
			// An allowed role's session.
			admin, adminCSRF := e.session(t, r.Roles[0], time.Now().Add(time.Hour))
			// Unsafe methods need the session's own CSRF token.
			for name, form := range map[string]url.Values{
				"no CSRF token":             {},
				"empty CSRF token":          {"csrf": {""}},
				"another session's token":   {"csrf": {otherCSRF}},
				"CSRF token in the query":   nil,
				"CSRF token of an old form": {"csrf": {expiredCSRF}},
			} {
				p := path
				if form == nil {
					p += "?csrf=" + url.QueryEscape(adminCSRF)
					form = url.Values{}
				}
				resp, _ := e.do(t, request{method: method, path: p, session: admin, form: form})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", name, resp.StatusCode)
				}
			}
			if needsAccount[r.Pattern] {
				return
			}
			// With it, the handler runs (on a session of its own, since
			// logout ends it).
			sess, csrf := e.session(t, r.Roles[0], time.Now().Add(time.Hour))
			form := url.Values{"csrf": {csrf}}
			for k, v := range validForms[r.Pattern] {
				form[k] = v
			}
			resp, body := e.do(t, request{method: method, path: path, session: sess, form: form})
			if resp.StatusCode >= 400 {
				t.Errorf("with the CSRF token: status %d (%.200s)", resp.StatusCode, body)
			}
		})
	}
	// Every response carries the security headers.
	resp, _ := e.do(t, request{method: "GET", path: "/login"})
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Strict-Transport-Security"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("response lacks %s", h)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func formCSRF(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in %.300s", body)
	}
	return m[1]
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t *testing.T
	e *env
	c *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, e: e, c: e.client(jar)}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.e.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// login fills in the login form (fetching it first) and posts it.
func (b *browser) login(username, password, code string) (*http.Response, string) {
	b.t.Helper()
	_, body := b.get("/login")
	return b.post("/login", url.Values{"csrf": {formCSRF(b.t, body)}, "username": {username}, "password": {password}, "code": {code}})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.dash.Login.Limits.UserFailures = 100 // lockout has its own test
	b := e.browser(t)
	alice := e.accounts[store.RoleAdmin]

	// Not logged in: the devices page sends to the login form.
	if resp, _ := b.get("/"); !isRedirectToLogin(resp) {
		t.Fatalf("GET / without a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.get("/login")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	for _, want := range []string{`name="username"`, `name="password"`, `name="code"`, `autocomplete="one-time-code"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login form lacks %s", want)
		}
	}
	if strings.Contains(body, `name="token"`) {
		t.Error("the login form still asks for an API token")
	}
	csrf := formCSRF(t, body)

	// The wrong CSRF token: refused, even with valid credentials.
	resp, body = b.post("/login", url.Values{"csrf": {"wrong-" + csrf}, "username": {alice.Username}, "password": {alice.Password},
		"code": {e.code(t, alice)}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") || hasSession(resp) {
		t.Errorf("login with the wrong CSRF token: %d, session %v", resp.StatusCode, hasSession(resp))
	}

	// Each factor is required; an API token is no longer a login.
	for name, form := range map[string][3]string{
		"admin API token as password": {alice.Username, e.tokens[store.RoleAdmin], e.code(t, alice)},
		"no code":                     {alice.Username, alice.Password, ""},
		"wrong code":                  {alice.Username, alice.Password, "000000"},
		"no password":                 {alice.Username, "", e.code(t, alice)},
		"wrong password":              {alice.Username, alice.Password + "x", e.code(t, alice)},
		"no username":                 {"", alice.Password, e.code(t, alice)},
		"another account's code":      {alice.Username, alice.Password, e.code(t, e.accounts[store.RoleAnalyst])},
	} {
		resp, body := b.login(form[0], form[1], form[2])
		if resp.StatusCode != http.StatusUnauthorized || hasSession(resp) || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: %d, session set %v", name, resp.StatusCode, hasSession(resp))
		}
	}
	// The old token field alone is refused too.
	_, body = b.get("/login")
	if resp, _ := b.post("/login", url.Values{"csrf": {formCSRF(t, body)}, "token": {e.tokens[store.RoleAdmin]}}); resp.StatusCode != http.StatusUnauthorized || hasSession(resp) {
		t.Errorf("login with an API token: %d", resp.StatusCode)
	}

	// Username (any case), password and the code as the app shows it.
	code := e.code(t, alice)
	resp, _ = b.login(strings.ToUpper(alice.Username), alice.Password, code[:3]+" "+code[3:])
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "vcguard_session" {
			sess = ck
		}
	}
	if sess == nil || sess.Value == "" {
		t.Fatal("no session cookie set")
	}
	if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" {
		t.Errorf("session cookie is not HttpOnly, Secure, SameSite=Strict, Path=/: %+v", sess)
	}
	// Only the hash of the session id is stored.
	if stored, err := e.store.SessionByHash(t.Context(), auth.Hash(sess.Value), time.Now()); err != nil ||
		stored.Role != store.RoleAdmin || stored.Subject != alice.Username {
		t.Errorf("stored session = %+v, %v", stored, err)
	}

	resp, body = b.get("/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / after login: %d", resp.StatusCode)
	}
	for _, want := range []string{"<h1>Overview</h1>", `id="devices-total" data-live="total">1</span>`, "European default",
		alice.Username + " (admin)", `href="/audit"`, `href="/secrets"`, `<svg id="detections-chart"`} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	sessionCSRF := formCSRF(t, body)
	_, body = b.get("/devices")
	for _, want := range []string{"<h1>Devices</h1>", `<strong id="devices-total" data-live="total">1</strong>`, "laptop-one",
		`href="/devices/dev-1"`, "European default"} {
		if !strings.Contains(body, want) {
			t.Errorf("devices page lacks %q", want)
		}
	}

	resp, body = b.get("/devices/dev-1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>laptop-one</h1>") {
		t.Errorf("device page: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/devices/dev-404"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown device page: %d, want 404", resp.StatusCode)
	}

	// The same code a second time (another browser, same 30 s): refused.
	if resp, _ := e.browser(t).login(alice.Username, alice.Password, code); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the same code twice: %d, want 401", resp.StatusCode)
	}

	// Logout ends the session.
	if resp, _ := b.post("/logout", url.Values{"csrf": {sessionCSRF}}); !isRedirectToLogin(resp) {
		t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.store.SessionByHash(t.Context(), auth.Hash(sess.Value), time.Now()); err == nil {
		t.Error("session still stored after logout")
	}
	if resp, _ := b.get("/"); !isRedirectToLogin(resp) {
		t.Errorf("GET / after logout: %d", resp.StatusCode)
	}

	// The audit log has it all, with the address.
	log, err := e.store.AuditLog(t.Context(), store.AuditFilter{Actor: alice.Username})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		got = append(got, log[i].Action)
		if log[i].RemoteAddr != "127.0.0.1" {
			t.Errorf("entry %+v: remote address %q", log[i], log[i].RemoteAddr)
		}
	}
	want := "login_failure login_failure login_failure login_failure login_failure login_failure login_success login_failure logout"
	if strings.Join(got, " ") != want {
		t.Errorf("audit log of %s: %s\nwant %s", alice.Username, strings.Join(got, " "), want)
	}
}

// Roles after login: an auditor lands on the audit log and may not open
// the fleet; an analyst reads the fleet, not the audit log.
func TestLoginRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		role      store.Role
		home      string
		forbidden string
	}{
		{store.RoleAuditor, "/audit", "/"},
		{store.RoleAnalyst, "/", "/audit"},
	} {
		b := e.browser(t)
		a := e.accounts[tc.role]
		resp, _ := b.login(a.Username, a.Password, e.code(t, a))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.home {
			t.Fatalf("%s login: %d to %q, want %s", tc.role, resp.StatusCode, resp.Header.Get("Location"), tc.home)
		}
		if resp, _ := b.get(tc.home); resp.StatusCode != http.StatusOK {
			t.Errorf("%s at %s: %d", tc.role, tc.home, resp.StatusCode)
		}
		if resp, _ := b.get(tc.forbidden); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s at %s: %d, want 403", tc.role, tc.forbidden, resp.StatusCode)
		}
	}
	// The auditor's page lists the logins.
	b := e.browser(t)
	a := e.accounts[store.RoleAuditor]
	e.advance(30 * time.Second) // a fresh code
	b.login(a.Username, a.Password, e.code(t, a))
	_, body := b.get("/audit?action=login_success")
	if !strings.Contains(body, "<h1>Audit log</h1>") || strings.Count(body, `data-action="login_success"`) != 3 ||
		!strings.Contains(body, "it-analyst") {
		t.Errorf("audit page:\n%.2000s", body)
	}
	if resp, _ := b.get("/audit?limit=0"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("audit page with a bad limit: %d", resp.StatusCode)
	}
}

// Five wrong passwords lock the account out for 15 minutes, also for the
// right credentials; then it logs in again.
func TestLoginLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	a := e.accounts[store.RoleAnalyst]
	for i := range 5 {
		resp, body := b.login(a.Username, "guess", e.code(t, a))
		if want := map[bool]int{false: http.StatusUnauthorized, true: http.StatusTooManyRequests}[i == 4]; resp.StatusCode != want {
			t.Fatalf("failure %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if i == 4 && !strings.Contains(body, "Try again after 10:15 UTC") {
			t.Errorf("lockout message: %.1500s", body)
		}
	}
	if resp, _ := b.login(a.Username, a.Password, e.code(t, a)); resp.StatusCode != http.StatusTooManyRequests || hasSession(resp) {
		t.Errorf("right credentials while locked: %d", resp.StatusCode)
	}
	e.advance(15 * time.Minute)
	if resp, _ := b.login(a.Username, a.Password, e.code(t, a)); resp.StatusCode != http.StatusSeeOther || !hasSession(resp) {
		t.Errorf("after the lockout: %d", resp.StatusCode)
	}
	log, _ := e.store.AuditLog(t.Context(), store.AuditFilter{Action: "login_lockout"})
	if len(log) != 1 || log[0].Actor != a.Username {
		t.Errorf("lockout audit = %+v", log)
	}
}

// A disabled account's sessions end at once.
func TestDisabledAdminSessionEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	a := e.accounts[store.RoleAnalyst]
	if resp, _ := b.login(a.Username, a.Password, e.code(t, a)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}
	// Disabled through the JSON API.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", e.srv.URL+"/api/v1/admins/"+a.Username+"/disable", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[store.RoleAdmin])
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/"); !isRedirectToLogin(resp) {
		t.Errorf("GET / after the account was disabled: %d", resp.StatusCode)
	}
}

func hasSession(resp *http.Response) bool {
	for _, ck := range resp.Cookies() {
		if ck.Name == "vcguard_session" && ck.Value != "" {
			return true
		}
	}
	return false
}
