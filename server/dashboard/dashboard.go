// Package dashboard serves the fleet dashboard: server-rendered HTML that
// reads without JavaScript. Administrators log in with username, password
// and TOTP code (login.go); the session lives in the store, hashed, so any
// replica can serve it. Every page declares the roles that may see it
// (Routes), and every state-changing form carries the session's CSRF token.
package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/oidclogin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	sessionCookie    = "vcguard_session"
	loginCSRFCookie  = "vcguard_login_csrf"
	sessionLifetime  = 12 * time.Hour
	refreshSeconds   = 10
	maxLoginBodySize = 8 << 10
	// maxFormSize bounds a dashboard form: a policy document (1 MiB) and
	// its URL encoding.
	maxFormSize = 4 << 20
)

// Dashboard serves the HTML pages. It reads and changes everything
// through the admin service (API.Admin), never the store itself.
type Dashboard struct {
	API    *adminapi.API
	Logger *slog.Logger
	// Login checks logins; New sets one with the default limits.
	Login *auth.Login
	// Catalog returns the catalog the catalog pages show; nil is the
	// service's current one (the newest published).
	Catalog func() *policies.Catalog
	// OIDC, when set, offers sign-in through an OpenID Connect provider
	// next to the local login form (oidc.go).
	OIDC *oidclogin.Provider
	tmpl *template.Template
	// privacyDoc is the data inventory GET /privacy shows.
	privacyDoc privacyPage
	// streams counts the open live streams (GET /live/events).
	streams *liveStreams
}

// New parses the templates.
func New(api *adminapi.API, logger *slog.Logger) (*Dashboard, error) {
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"since": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return time.Since(t).Round(time.Second).String() + " ago"
		},
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"optTime": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"diffLines":  diffLines,
		"join":       strings.Join,
		"actionDone": actionDone,
		"add":        func(a, b int) int { return a + b },
		"percent":    percent,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &Dashboard{API: api, Logger: logger, Login: api.Admin.NewLogin(logger), tmpl: tmpl, privacyDoc: newPrivacyPage(),
		streams: &liveStreams{}}, nil
}

// Route is one dashboard route.
type Route struct {
	// Pattern is the http.ServeMux pattern, e.g. "GET /devices/{id}".
	Pattern string
	// Session routes need a dashboard session (without one they redirect
	// to /login) of one of Roles (another role gets 403), and on unsafe
	// methods the session's CSRF token. The others serve anyone: static
	// files and the login form, whose POST checks the login form's own
	// CSRF token.
	Session bool
	Roles   []admin.Role
	public  http.Handler
	session sessionHandler
}

// Routes lists every dashboard route; Register adds exactly these, so a test
// that walks the list covers every route.
func (d *Dashboard) Routes() []Route {
	static, _ := fs.Sub(staticFS, "static")
	anyone := []admin.Role{admin.RoleAdmin, admin.RoleAnalyst, admin.RoleAuditor}
	fleet := []admin.Role{admin.RoleAdmin, admin.RoleAnalyst}
	audit := []admin.Role{admin.RoleAdmin, admin.RoleAuditor}
	admins := []admin.Role{admin.RoleAdmin}
	return []Route{
		{Pattern: "GET /static/", public: http.StripPrefix("/static/", http.FileServerFS(static))},
		{Pattern: "GET /login", public: http.HandlerFunc(d.loginForm)},
		{Pattern: "POST /login", public: http.HandlerFunc(d.login)},
		{Pattern: "GET /oidc/login", public: http.HandlerFunc(d.oidcLogin)},
		{Pattern: "GET /oidc/callback", public: http.HandlerFunc(d.oidcCallback)},
		{Pattern: "GET /privacy", public: http.HandlerFunc(d.privacy)},
		{Pattern: "POST /logout", Session: true, Roles: anyone, session: d.logout},
		{Pattern: "GET /{$}", Session: true, Roles: fleet, session: d.overview},
		{Pattern: "GET /overview.csv", Session: true, Roles: fleet, session: d.overviewCSV},
		{Pattern: "GET /live.json", Session: true, Roles: fleet, session: d.live},
		{Pattern: "GET /live/events", Session: true, Roles: fleet, session: d.liveEvents},
		{Pattern: "GET /devices", Session: true, Roles: fleet, session: d.devices},
		{Pattern: "GET /devices.csv", Session: true, Roles: fleet, session: d.devicesCSV},
		{Pattern: "GET /devices/{id}", Session: true, Roles: fleet, session: d.device},
		{Pattern: "GET /devices/{id}/timeline.csv", Session: true, Roles: fleet, session: d.timelineCSV},
		{Pattern: "POST /devices/{id}/revoke", Session: true, Roles: admins, session: d.revokeDevice},
		{Pattern: "POST /devices/bulk", Session: true, Roles: admins, session: d.bulkDevices},
		{Pattern: "GET /apps", Session: true, Roles: fleet, session: d.apps},
		{Pattern: "GET /apps.csv", Session: true, Roles: fleet, session: d.appsCSV},
		{Pattern: "GET /apps/connections", Session: true, Roles: fleet, session: d.connections},
		{Pattern: "GET /catalog", Session: true, Roles: fleet, session: d.catalogList},
		{Pattern: "GET /catalog/{app}", Session: true, Roles: fleet, session: d.catalogApp},
		{Pattern: "GET /policies", Session: true, Roles: fleet, session: d.policies},
		{Pattern: "GET /policies/{version}", Session: true, Roles: fleet, session: d.policy},
		{Pattern: "POST /policies", Session: true, Roles: admins, session: d.publishPolicy},
		{Pattern: "POST /policies/validate", Session: true, Roles: admins, session: d.validatePolicy},
		{Pattern: "POST /policies/diff", Session: true, Roles: admins, session: d.diffPolicy},
		{Pattern: "POST /policies/check", Session: true, Roles: admins, session: d.checkPolicy},
		{Pattern: "POST /policies/{version}/rollback", Session: true, Roles: admins, session: d.rollbackPolicy},
		{Pattern: "GET /secrets", Session: true, Roles: admins, session: d.secrets},
		{Pattern: "POST /secrets", Session: true, Roles: admins, session: d.createSecret},
		{Pattern: "POST /secrets/{secret}/revoke", Session: true, Roles: admins, session: d.revokeSecret},
		{Pattern: "GET /admins", Session: true, Roles: admins, session: d.admins},
		{Pattern: "POST /admins", Session: true, Roles: admins, session: d.createAdmin},
		{Pattern: "POST /admins/{username}/disable", Session: true, Roles: admins, session: d.disableAdmin},
		{Pattern: "POST /admins/{username}/enable", Session: true, Roles: admins, session: d.enableAdmin},
		{Pattern: "POST /admins/{username}/invite", Session: true, Roles: admins, session: d.reinviteAdmin},
		{Pattern: "GET /invite/{invite}", public: http.HandlerFunc(d.inviteForm)},
		{Pattern: "POST /invite/{invite}", public: http.HandlerFunc(d.redeemInvite)},
		{Pattern: "GET /account", Session: true, Roles: anyone, session: d.account},
		{Pattern: "POST /account/password", Session: true, Roles: anyone, session: d.changePassword},
		{Pattern: "POST /account/totp", Session: true, Roles: anyone, session: d.startTOTPReset},
		{Pattern: "POST /account/totp/confirm", Session: true, Roles: anyone, session: d.confirmTOTPReset},
		{Pattern: "GET /account/tokens", Session: true, Roles: anyone, session: d.tokens},
		{Pattern: "POST /account/tokens", Session: true, Roles: anyone, session: d.createToken},
		{Pattern: "POST /account/tokens/{tokenid}/revoke", Session: true, Roles: anyone, session: d.revokeToken},
		{Pattern: "GET /audit", Session: true, Roles: audit, session: d.audit},
	}
}

// Register adds the dashboard routes to mux.
func (d *Dashboard) Register(mux *http.ServeMux) {
	for _, r := range d.Routes() {
		if r.Session {
			mux.Handle(r.Pattern, d.authed(r.Roles, r.session))
		} else {
			mux.Handle(r.Pattern, r.public)
		}
	}
}

// SecurityHeaders wraps h with headers every response should carry.
func SecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
			"object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type page struct {
	Title   string
	Session *admin.Session
	Error   string
	// Notice is a message about an action that succeeded.
	Notice  string
	CSRF    string
	Refresh int
	Data    any
}

// IsAdmin reports whether the page's viewer may act (not just read).
func (p page) IsAdmin() bool { return p.Session != nil && p.Session.Role == admin.RoleAdmin }

// svc is the admin service every page reads and acts through.
func (d *Dashboard) svc() *admin.Service { return d.API.Admin }

// serverError logs err and answers 500.
func (d *Dashboard) serverError(w http.ResponseWriter, what string, err error) {
	d.Logger.Error(what, "err", err)
	http.Error(w, "server error; see the server log", http.StatusInternalServerError)
}

// actor is the session's administrator, for the audit log.
func actor(r *http.Request, s *admin.Session) admin.Actor {
	return admin.Actor{Subject: s.Subject, RemoteAddr: auth.RemoteHost(r.RemoteAddr)}
}

func (d *Dashboard) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := d.tmpl.ExecuteTemplate(w, name, p); err != nil {
		d.Logger.Error("render", "template", name, "err", err)
	}
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	d.renderLogin(w, http.StatusOK, "")
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, status int, msg string) {
	csrf := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: csrf, Path: "/login", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 600})
	d.render(w, status, "login.html", page{Title: "Log in", CSRF: csrf, Error: msg, Data: d.oidcName()})
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, s *admin.Session)

// authed requires a session of one of roles; unsafe methods also require
// its CSRF token.
func (d *Dashboard) authed(roles []admin.Role, h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		sess, err := d.svc().Session(r.Context(), auth.Hash(c.Value), time.Now())
		if errors.Is(err, admin.ErrNotFound) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.Logger.Error("session", "err", err)
			http.Error(w, "server error", http.StatusInternalServerError)
			return
		}
		if !slices.Contains(roles, sess.Role) {
			http.Error(w, "your role ("+string(sess.Role)+") may not open this page", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
			if err := r.ParseForm(); err != nil || !equal(sess.CSRF, r.PostForm.Get("csrf")) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		h(w, r, &sess)
	})
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	if err := d.svc().EndSession(r.Context(), actor(r, s), s.Hash); err != nil {
		d.Logger.Error("logout", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
