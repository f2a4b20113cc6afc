package dashboard_test

import (
	"github.com/vcguard/vcguard/server/adminapi/adminapitest"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/dashboard"
	"github.com/vcguard/vcguard/server/store"
)

// env is the dashboard and JSON API on one HTTPS test server (as
// vcguard-server serves them), over a real store in a temporary directory.
type env struct {
	dash   *dashboard.Dashboard
	store  *store.Store
	srv    *httptest.Server
	tokens map[store.Role]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := adminapitest.New(t)
	api, st := te.API, te.Store
	d, err := dashboard.New(api, api.Logger)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dash: d, store: st, tokens: te.Tokens}
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

// pathOf turns a route pattern into a method and a concrete path; every
// wildcard becomes the enrolled device's id.
func pathOf(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return "dev-1"
	})
	return method, path
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
	admin, adminCSRF := e.session(t, store.RoleAdmin, time.Now().Add(time.Hour))
	analyst, _ := e.session(t, store.RoleAnalyst, time.Now().Add(time.Hour))
	auditor, _ := e.session(t, store.RoleAuditor, time.Now().Add(time.Hour))
	expired, expiredCSRF := e.session(t, store.RoleAdmin, time.Now().Add(-time.Minute))
	_, otherCSRF := e.session(t, store.RoleAdmin, time.Now().Add(time.Hour))

	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.Pattern] {
			t.Errorf("route %q listed twice", r.Pattern)
		}
		seen[r.Pattern] = true
		method, path := pathOf(r.Pattern)
		unsafe := method != http.MethodGet && method != http.MethodHead
		t.Run(r.Pattern, func(t *testing.T) {
			if !r.Session {
				resp, body := e.do(t, request{method: method, path: path})
				if unsafe {
					// The login form: its own CSRF token is required.
					if resp.StatusCode != http.StatusForbidden {
						t.Errorf("without the form's CSRF token: status %d, want 403", resp.StatusCode)
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
			// A role that may not read the fleet.
			if resp, _ := e.do(t, request{method: method, path: path, session: auditor, form: url.Values{}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("auditor: status %d, want 403", resp.StatusCode)
			}

			if !unsafe {
				for name, sess := range map[string]string{"admin": admin, "analyst": analyst} {
					resp, body := e.do(t, request{method: method, path: path, session: sess})
					if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
						t.Errorf("%s: status %d %q, want an HTML page", name, resp.StatusCode, resp.Header.Get("Content-Type"))
					}
					if name == "admin" && !strings.Contains(body, `name="csrf" value="`+adminCSRF+`"`) {
						t.Errorf("%s: the page does not carry the session's CSRF token for its forms", name)
					}
				}
				return
			}
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
			// With it, the handler runs (on a session of its own, since
			// logout ends it).
			sess, csrf := e.session(t, store.RoleAdmin, time.Now().Add(time.Hour))
			resp, body := e.do(t, request{method: method, path: path, session: sess, form: url.Values{"csrf": {csrf}}})
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

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(jar)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		resp, err := c.PostForm(e.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// Not logged in: the devices page sends to the login form.
	if resp, _ := get("/"); !isRedirectToLogin(resp) {
		t.Fatalf("GET / without a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := get("/login")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	csrf := formCSRF(t, body)

	// The wrong CSRF token: refused, even with a valid admin token.
	resp, body = post("/login", url.Values{"csrf": {"wrong-" + csrf}, "token": {e.tokens[store.RoleAdmin]}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("login with the wrong CSRF token: %d", resp.StatusCode)
	}
	if hasSession(resp) {
		t.Error("a session was set despite the wrong CSRF token")
	}
	csrf = formCSRF(t, body) // the refusal renders a fresh form

	// A wrong API token.
	resp, body = post("/login", url.Values{"csrf": {csrf}, "token": {"vcg_admin_guess"}})
	if resp.StatusCode != http.StatusUnauthorized || hasSession(resp) {
		t.Errorf("login with a wrong token: %d, session set %v", resp.StatusCode, hasSession(resp))
	}
	csrf = formCSRF(t, body)

	// The admin token: a session, and the devices page.
	resp, _ = post("/login", url.Values{"csrf": {csrf}, "token": {"  " + e.tokens[store.RoleAdmin] + "\n"}})
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
	if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie is not HttpOnly, Secure and SameSite=Strict: %+v", sess)
	}
	// Only the hash of the session id is stored.
	if stored, err := e.store.SessionByHash(t.Context(), auth.Hash(sess.Value), time.Now()); err != nil ||
		stored.Role != store.RoleAdmin || stored.Subject != "token:tok_admin" {
		t.Errorf("stored session = %+v, %v", stored, err)
	}

	resp, body = get("/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / after login: %d", resp.StatusCode)
	}
	for _, want := range []string{"<h1>Devices</h1>", `<strong id="devices-total">1</strong>`, "laptop-one",
		`href="/devices/dev-1"`, "European default", "token:tok_admin (admin)"} {
		if !strings.Contains(body, want) {
			t.Errorf("devices page lacks %q", want)
		}
	}
	sessionCSRF := formCSRF(t, body)

	resp, body = get("/devices/dev-1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>laptop-one</h1>") {
		t.Errorf("device page: %d", resp.StatusCode)
	}
	if resp, _ := get("/devices/dev-404"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown device page: %d, want 404", resp.StatusCode)
	}

	// Logout ends the session.
	if resp, _ := post("/logout", url.Values{"csrf": {sessionCSRF}}); !isRedirectToLogin(resp) {
		t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := e.store.SessionByHash(t.Context(), auth.Hash(sess.Value), time.Now()); err == nil {
		t.Error("session still stored after logout")
	}
	if resp, _ := get("/"); !isRedirectToLogin(resp) {
		t.Errorf("GET / after logout: %d", resp.StatusCode)
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
