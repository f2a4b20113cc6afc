package dashboard_test

import (
	"context"
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

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
	"golang.org/x/text/language"

	"github.com/vcguard/vcguard/server/oidclogin"
	"github.com/vcguard/vcguard/server/store"
)

// The OpenID Connect tests sign in through a real OpenID Provider started
// in the test: zitadel/oidc's op package (a certified OpenID Provider
// library) with its example storage and login UI, which sign ID tokens,
// enforce PKCE and single-use codes, and check the client's secret and
// redirect URI. The test adds only what a real provider is configured with:
// users, one web client, and a groups claim in the ID token.

// idpUsers is the provider's directory.
type idpUsers map[string]*storage.User

func (u idpUsers) GetUserByID(id string) *storage.User { return u[id] }
func (u idpUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u idpUsers) ExampleClientID() string { return storage.ServiceUserID }

// idpStorage is the example storage with a groups claim in the ID token
// (as Entra ID, Keycloak and Okta add one when configured to).
type idpStorage struct {
	*storage.Storage
	mu     sync.Mutex
	groups map[string][]string // by user ID
	amr    []string
}

func (s *idpStorage) setGroups(userID string, groups ...string) {
	s.mu.Lock()
	s.groups[userID] = groups
	s.mu.Unlock()
}

func (s *idpStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, token, scopes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[token.GetSubject()]; ok {
		info.AppendClaims("groups", g)
	}
	return nil
}

// GetClientByClientID returns the client with its user info (email,
// groups) asserted in the ID token.
func (s *idpStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c}, nil
}

type claimsInIDToken struct{ op.Client }

// setAMR makes the provider report these authentication methods (the
// example login UI asks a password only and says "pwd").
func (s *idpStorage) setAMR(amr ...string) {
	s.mu.Lock()
	s.amr = amr
	s.mu.Unlock()
}

// AuthRequestByCode is the example's, with the methods setAMR set.
func (s *idpStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	req, err := s.Storage.AuthRequestByCode(ctx, code)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || s.amr == nil {
		return req, err
	}
	return withAMR{req, s.amr}, nil
}

type withAMR struct {
	op.AuthRequest
	amr []string
}

func (r withAMR) GetAMR() []string { return r.amr }

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

type idp struct {
	srv     *httptest.Server
	issuer  string
	storage *idpStorage
}

const (
	idpClientID     = "vcguard-dashboard"
	idpClientSecret = "client-secret-of-the-test"
)

// newIdP starts the provider with users ann (example.com) and bob
// (other.org), password "correct horse", and one web client whose only
// redirect URI is redirectURL.
func newIdP(t *testing.T, redirectURL string) *idp {
	t.Helper()
	return newIdPAt(t, redirectURL, false)
}

// newIdPAt is newIdP, at http://localhost:PORT when onLocalhost is set (a
// site of its own for a browser, as a real provider is), else at
// http://127.0.0.1:PORT.
func newIdPAt(t *testing.T, redirectURL string, onLocalhost bool) *idp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	issuer := srv.URL
	if onLocalhost {
		issuer = strings.Replace(issuer, "127.0.0.1", "localhost", 1)
	}
	users := idpUsers{
		"sub-ann": {ID: "sub-ann", Username: "ann", Password: "correct horse", FirstName: "Ann", LastName: "Admin",
			Email: "Ann@example.com", EmailVerified: true, PreferredLanguage: language.English},
		"sub-bob": {ID: "sub-bob", Username: "bob", Password: "correct horse", FirstName: "Bob", LastName: "Other",
			Email: "bob@other.org", EmailVerified: true, PreferredLanguage: language.English},
	}
	st := &idpStorage{Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{
		idpClientID: storage.WebClient(idpClientID, idpClientSecret, redirectURL),
	}), groups: map[string][]string{}}
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	return &idp{srv: srv, issuer: issuer, storage: st}
}

func (e *env) withOIDC(t *testing.T, p *idp, mutate func(*oidclogin.Config)) {
	t.Helper()
	roles, err := oidclogin.ParseRoleMap("vcguard-admins=admin,vcguard-analysts=analyst,vcguard-auditors=auditor")
	if err != nil {
		t.Fatal(err)
	}
	cfg := oidclogin.Config{Issuer: p.issuer, Name: "Test IdP", ClientID: idpClientID, ClientSecret: idpClientSecret,
		RedirectURL: e.srv.URL + "/oidc/callback", RolesClaim: "groups", Roles: roles}
	if mutate != nil {
		mutate(&cfg)
	}
	prov := oidclogin.New(cfg, e.dash.Logger)
	if err := prov.Discover(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.dash.OIDC = prov
}

// ssoBrowser is a browser with a cookie jar that follows redirects between
// the dashboard and the provider, and remembers every URL it was sent to.
type ssoBrowser struct {
	t      *testing.T
	e      *env
	idp    *idp
	c      *http.Client
	jar    *cookiejar.Jar
	mu     sync.Mutex
	visits []*url.URL
	// stopAt, when it matches a redirect's path, stops following there.
	stopAt string
}

func (e *env) ssoBrowser(t *testing.T, p *idp) *ssoBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &ssoBrowser{t: t, e: e, idp: p, jar: jar}
	c := *e.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		b.mu.Lock()
		b.visits = append(b.visits, req.URL)
		stop := b.stopAt != "" && req.URL.Path == b.stopAt
		b.mu.Unlock()
		if stop {
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	b.c = &c
	return b
}

func (b *ssoBrowser) do(method, rawURL string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

// visited is the last URL followed whose path is path.
func (b *ssoBrowser) visited(path string) *url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.visits) - 1; i >= 0; i-- {
		if b.visits[i].Path == path {
			return b.visits[i]
		}
	}
	return nil
}

var idpAuthRequestID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// startSignIn clicks "Sign in with Test IdP" and returns the provider's
// login form's auth request ID.
func (b *ssoBrowser) startSignIn() string {
	b.t.Helper()
	_, body := b.do(http.MethodGet, b.e.srv.URL+"/login", nil)
	if !strings.Contains(body, `href="/oidc/login"`) || !strings.Contains(body, "Sign in with Test IdP") {
		b.t.Fatalf("the login page offers no sign-in with the provider:\n%s", body)
	}
	resp, body := b.do(http.MethodGet, b.e.srv.URL+"/oidc/login", nil)
	m := idpAuthRequestID.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET /oidc/login did not end at the provider's login form: %d %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	return m[1]
}

// signIn goes through the provider's login form as user and returns the
// dashboard's answer to the callback.
func (b *ssoBrowser) signIn(user string) (*http.Response, string) {
	b.t.Helper()
	id := b.startSignIn()
	return b.do(http.MethodPost, b.idp.srv.URL+"/login/username", url.Values{"id": {id}, "username": {user}, "password": {"correct horse"}})
}

// auditEntries are the audit log's entries of action, oldest first.
func auditOf(t *testing.T, e *env, action string) []store.AuditEntry {
	t.Helper()
	all, err := e.store.AuditLog(t.Context(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, a := range slices.Backward(all) {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newIdP(t, e.srv.URL+"/oidc/callback")
	e.withOIDC(t, p, nil)
	p.storage.setGroups("sub-ann", "staff", "vcguard-auditors")

	// First sign-in: the auditors group maps to auditor.
	b := e.ssoBrowser(t, p)
	resp, body := b.signIn("ann")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/oidc/callback" || !strings.Contains(body, `content="0;url=/audit"`) {
		t.Fatalf("sign-in as ann: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	authz := b.visited("/auth")
	if authz == nil {
		t.Fatal("the browser was never sent to the provider's authorization endpoint")
	}
	q := authz.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("response_type") != "code" || q.Get("redirect_uri") != e.srv.URL+"/oidc/callback" {
		t.Errorf("authorization request lacks PKCE S256, nonce, state or the redirect URI: %s", authz)
	}
	resp, body = b.do(http.MethodGet, e.srv.URL+"/audit", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "oidc:ann@example.com (auditor)") {
		t.Fatalf("GET /audit after signing in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if resp, _ := b.do(http.MethodGet, e.srv.URL+"/secrets", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an auditor from the provider opened /secrets: %d", resp.StatusCode)
	}
	ok := auditOf(t, e, "login_success")
	if len(ok) == 0 || ok[len(ok)-1].Actor != "oidc:ann@example.com" || !strings.Contains(string(ok[len(ok)-1].Detail), `"method":"oidc"`) ||
		!strings.Contains(string(ok[len(ok)-1].Detail), `"role":"auditor"`) {
		t.Errorf("login_success entries: %+v", ok)
	}

	// The callback URL replayed (the pending sign-in's cookie is gone):
	// refused, audited, no session.
	cb := b.visited("/oidc/callback")
	replay := e.ssoBrowser(t, p)
	resp, body = replay.do(http.MethodGet, cb.String(), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "bad state") || hasSession(resp) {
		t.Errorf("replayed callback: %d, session %v\n%s", resp.StatusCode, hasSession(resp), body)
	}
	resp, body = b.do(http.MethodGet, cb.String(), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "bad state") {
		t.Errorf("callback replayed in the same browser: %d", resp.StatusCode)
	}
	// Another pending sign-in in that browser does not make the old
	// callback's state valid.
	replay.stopAt = "/auth"
	replay.do(http.MethodGet, e.srv.URL+"/oidc/login", nil)
	if resp, body := replay.do(http.MethodGet, cb.String(), nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "bad state") {
		t.Errorf("old callback with a new pending sign-in: %d", resp.StatusCode)
	}

	// The code alone is useless: the provider requires the PKCE verifier
	// the dashboard kept (and codes are single-use).
	b2 := e.ssoBrowser(t, p)
	b2.stopAt = "/oidc/callback"
	id := b2.startSignIn()
	b2.do(http.MethodPost, p.srv.URL+"/login/username", url.Values{"id": {id}, "username": {"ann"}, "password": {"correct horse"}})
	code := b2.visited("/oidc/callback").Query().Get("code")
	oc := oauth2.Config{ClientID: idpClientID, ClientSecret: idpClientSecret, RedirectURL: e.srv.URL + "/oidc/callback",
		Endpoint: oauth2.Endpoint{TokenURL: p.srv.URL + "/oauth/token"}}
	if _, err := oc.Exchange(t.Context(), code); err == nil || !strings.Contains(err.Error(), "code_verifier") {
		t.Errorf("exchanging the code without the PKCE verifier: %v", err)
	}
	if _, err := oc.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("exchanging the code with another PKCE verifier succeeded")
	}

	// Ann moves to the admins group: the next sign-in is an admin, and the
	// change is audited.
	p.storage.setGroups("sub-ann", "vcguard-admins")
	b3 := e.ssoBrowser(t, p)
	if resp, body := b3.signIn("ann"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `content="0;url=/"`) {
		t.Fatalf("second sign-in as ann: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b3.do(http.MethodGet, e.srv.URL+"/secrets", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "oidc:ann@example.com (admin)") {
		t.Errorf("GET /secrets as ann the admin: %d", resp.StatusCode)
	}
	// Her session as an auditor ended with the change.
	if resp, _ := b.do(http.MethodGet, e.srv.URL+"/audit", nil); resp.Request.URL.Path != "/login" {
		t.Errorf("ann's auditor session after her role changed: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	// Its credentials live at the provider: no local password or TOTP
	// change, no API token (nothing would end it when ann leaves the group).
	if resp, body := b3.do(http.MethodGet, e.srv.URL+"/account", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "identity provider") {
		t.Errorf("GET /account as ann: %d", resp.StatusCode)
	}
	_, body = b3.do(http.MethodGet, e.srv.URL+"/account/tokens", nil)
	csrf := formCSRF(t, body)
	if resp, _ := b3.do(http.MethodPost, e.srv.URL+"/account/password", url.Values{"csrf": {csrf}, "current_password": {"x"},
		"current_code": {"123456"}, "new_password": {"a new long password"}, "new_password2": {"a new long password"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("password change of a single sign-on session: %d", resp.StatusCode)
	}
	if resp, body := b3.do(http.MethodPost, e.srv.URL+"/account/tokens", url.Values{"csrf": {csrf}, "role": {"auditor"}}); resp.StatusCode != http.StatusBadRequest ||
		strings.Contains(body, "vcg_auditor_") {
		t.Errorf("API token for a single sign-on session: %d", resp.StatusCode)
	}
	if resp, body := b3.do(http.MethodGet, e.srv.URL+"/admins", nil); resp.StatusCode != http.StatusOK ||
		!regexp.MustCompile(`<td>oidc:ann@example.com</td><td>admin</td>`).MatchString(body) || !strings.Contains(body, "Single sign-on (Test IdP)") {
		t.Errorf("the administrators page does not list ann from the provider as admin: %d", resp.StatusCode)
	}
	changes := auditOf(t, e, "role_change")
	if len(changes) != 1 || changes[0].Actor != "oidc:ann@example.com" ||
		!strings.Contains(string(changes[0].Detail), `"from":"auditor"`) || !strings.Contains(string(changes[0].Detail), `"to":"admin"`) {
		t.Errorf("role_change entries: %+v", changes)
	}

	// Bob's groups map to no role: refused, not given a default one.
	p.storage.setGroups("sub-bob", "staff")
	bob := e.ssoBrowser(t, p)
	resp, body = bob.signIn("bob")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "no role mapped from the groups claim") || hasSession(resp) {
		t.Errorf("bob without a mapped group: %d, session %v\n%s", resp.StatusCode, hasSession(resp), body)
	}
	if resp, _ := bob.do(http.MethodGet, e.srv.URL+"/audit", nil); resp.Request.URL.Path != "/login" {
		t.Errorf("bob reached %s", resp.Request.URL)
	}
	var refusedBob bool
	for _, f := range auditOf(t, e, "login_failure") {
		refusedBob = refusedBob || (f.Actor == "oidc:bob@other.org" && strings.Contains(string(f.Detail), "no role mapped"))
	}
	if !refusedBob {
		t.Errorf("bob's refusal is not in the audit log: %+v", auditOf(t, e, "login_failure"))
	}

	// Local accounts still log in with password and TOTP code.
	alice := e.accounts[store.RoleAdmin]
	lb := e.browser(t)
	if resp, _ := lb.login(alice.Username, alice.Password, "000000"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("local login with a wrong code: %d", resp.StatusCode)
	}
	if resp, _ := lb.login(alice.Username, alice.Password, e.code(t, alice)); resp.StatusCode != http.StatusSeeOther || !hasSession(resp) {
		t.Errorf("local login with TOTP: %d", resp.StatusCode)
	}
}

// TestOIDCNonce: an ID token whose nonce is not the pending sign-in's is
// refused, though state, code and verifier are right.
func TestOIDCNonce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newIdP(t, e.srv.URL+"/oidc/callback")
	e.withOIDC(t, p, nil)
	p.storage.setGroups("sub-ann", "vcguard-admins")
	b := e.ssoBrowser(t, p)
	id := b.startSignIn()
	// Swap the nonce in the pending sign-in's cookie.
	cookieURL, _ := url.Parse(e.srv.URL + "/oidc/")
	var pending *http.Cookie
	for _, c := range b.jar.Cookies(cookieURL) {
		if c.Name == "vcguard_oidc" {
			pending = c
		}
	}
	if pending == nil {
		t.Fatal("no pending sign-in cookie for /oidc/")
	}
	parts := strings.Split(pending.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("pending cookie %d parts", len(parts))
	}
	parts[1] = oauth2.GenerateVerifier()
	b.jar.SetCookies(cookieURL, []*http.Cookie{{Name: "vcguard_oidc", Value: strings.Join(parts, "."), Path: "/oidc/", Secure: true, HttpOnly: true}})
	resp, body := b.do(http.MethodPost, p.srv.URL+"/login/username", url.Values{"id": {id}, "username": {"ann"}, "password": {"correct horse"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "wrong nonce") || hasSession(resp) {
		t.Errorf("sign-in with another nonce: %d, session %v\n%s", resp.StatusCode, hasSession(resp), body)
	}
}

// TestOIDCRefusals: the email domain and amr checks, and refusals locking
// out the address like failed logins.
func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newIdP(t, e.srv.URL+"/oidc/callback")
	p.storage.setGroups("sub-ann", "vcguard-admins")
	p.storage.setGroups("sub-bob", "vcguard-admins")

	e.withOIDC(t, p, func(c *oidclogin.Config) { c.AllowedDomains = []string{"example.com"} })
	if resp, body := e.ssoBrowser(t, p).signIn("bob"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "email domain not allowed") {
		t.Errorf("bob@other.org with only example.com allowed: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := e.ssoBrowser(t, p).signIn("ann"); resp.StatusCode != http.StatusOK {
		t.Errorf("ann@example.com with example.com allowed: %d", resp.StatusCode)
	}

	// The example provider authenticates with a password only (amr "pwd").
	e.withOIDC(t, p, func(c *oidclogin.Config) { c.RequireMFA = true })
	if resp, body := e.ssoBrowser(t, p).signIn("ann"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "multi-factor") {
		t.Errorf("password-only sign-in with MFA required: %d\n%s", resp.StatusCode, body)
	}

	// A provider that reports a second factor is let in.
	p.storage.setAMR("pwd", "otp")
	if resp, body := e.ssoBrowser(t, p).signIn("ann"); resp.StatusCode != http.StatusOK {
		t.Errorf("sign-in with amr pwd+otp and MFA required: %d\n%s", resp.StatusCode, body)
	}
	p.storage.setAMR()

	// The provider sends the person back with an error (consent denied):
	// refused with the provider's error, printable and bounded.
	e.withOIDC(t, p, nil)
	denied := e.ssoBrowser(t, p)
	denied.stopAt = "/auth"
	denied.do(http.MethodGet, e.srv.URL+"/oidc/login", nil)
	state := denied.visited("/auth").Query().Get("state")
	resp, body := denied.do(http.MethodGet, e.srv.URL+"/oidc/callback?state="+url.QueryEscape(state)+"&error=access_denied%0A%00"+strings.Repeat("x", 100), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "the provider refused: access_denied"+strings.Repeat("x", 50)) ||
		strings.Contains(body, strings.Repeat("x", 64)) || hasSession(resp) {
		t.Errorf("callback with error=access_denied: %d\n%s", resp.StatusCode, body)
	}

	// Refusals count against the address: the IP limit locks it out of
	// the provider's sign-in and of the local form.
	e.dash.Login.Limits.IPFailures = 5
	b := e.ssoBrowser(t, p)
	for range 3 {
		b.do(http.MethodGet, e.srv.URL+"/oidc/callback?state=forged&code=forged", nil)
	}
	if resp, _ := b.do(http.MethodGet, e.srv.URL+"/oidc/login", nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("/oidc/login after the address's failures: %d", resp.StatusCode)
	}
	// bob's domain, ann's missing MFA, the denied consent and two forged
	// callbacks; the third is refused by the lockout before it is checked.
	if got := len(auditOf(t, e, "login_failure")); got != 5 {
		t.Errorf("%d login_failure entries, want 5", got)
	}
}
