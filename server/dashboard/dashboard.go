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
	"time"

	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
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
	maxRecentEvents  = 50
	maxLoginBodySize = 8 << 10
)

// Dashboard serves the HTML pages.
type Dashboard struct {
	API    *adminapi.API
	Logger *slog.Logger
	// Login checks logins; New sets one with the default limits.
	Login *auth.Login
	tmpl  *template.Template
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
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	login := auth.NewLogin(api.Store, logger)
	login.Now = api.Now
	if api.PasswordHashing != (auth.Argon2Params{}) {
		login.DummyArgon2 = api.PasswordHashing
	}
	return &Dashboard{API: api, Logger: logger, Login: login, tmpl: tmpl}, nil
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
	Roles   []store.Role
	public  http.Handler
	session sessionHandler
}

// Routes lists every dashboard route; Register adds exactly these, so a test
// that walks the list covers every route.
func (d *Dashboard) Routes() []Route {
	static, _ := fs.Sub(staticFS, "static")
	anyone := []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor}
	fleet := []store.Role{store.RoleAdmin, store.RoleAnalyst}
	audit := []store.Role{store.RoleAdmin, store.RoleAuditor}
	return []Route{
		{Pattern: "GET /static/", public: http.StripPrefix("/static/", http.FileServerFS(static))},
		{Pattern: "GET /login", public: http.HandlerFunc(d.loginForm)},
		{Pattern: "POST /login", public: http.HandlerFunc(d.login)},
		{Pattern: "POST /logout", Session: true, Roles: anyone, session: d.logout},
		{Pattern: "GET /{$}", Session: true, Roles: fleet, session: d.devices},
		{Pattern: "GET /devices/{id}", Session: true, Roles: fleet, session: d.device},
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
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
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
	Session *store.Session
	Error   string
	CSRF    string
	Refresh int
	Data    any
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
	d.render(w, status, "login.html", page{Title: "Log in", CSRF: csrf, Error: msg})
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, s *store.Session)

// authed requires a session of one of roles; unsafe methods also require
// its CSRF token.
func (d *Dashboard) authed(roles []store.Role, h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		sess, err := d.API.Store.SessionByHash(r.Context(), auth.Hash(c.Value), time.Now())
		if errors.Is(err, store.ErrNotFound) {
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
			r.Body = http.MaxBytesReader(w, r.Body, maxLoginBodySize)
			if err := r.ParseForm(); err != nil || !equal(sess.CSRF, r.PostForm.Get("csrf")) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		h(w, r, &sess)
	})
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *store.Session) {
	if err := d.API.Store.DeleteSession(r.Context(), s.Hash); err != nil {
		d.Logger.Error("logout", "err", err)
	}
	d.API.Audit(r.Context(), adminapi.Actor{Subject: s.Subject, RemoteAddr: auth.RemoteHost(r.RemoteAddr)}, "logout", "admin:"+s.Subject, nil)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (d *Dashboard) devices(w http.ResponseWriter, r *http.Request, s *store.Session) {
	devs, err := d.API.Store.Devices(r.Context())
	if err != nil {
		d.Logger.Error("devices page", "err", err)
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	views := make([]adminapi.DeviceJSON, 0, len(devs))
	online := 0
	for _, dev := range devs {
		v := d.API.DeviceView(dev)
		if v.Online {
			online++
		}
		views = append(views, v)
	}
	var policy *store.PolicyVersion
	if p, err := d.API.Store.CurrentPolicy(r.Context()); err == nil {
		policy = &p
	}
	d.render(w, http.StatusOK, "devices.html", page{Title: "Devices", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Devices": views, "Online": online, "Policy": policy}})
}

func (d *Dashboard) device(w http.ResponseWriter, r *http.Request, s *store.Session) {
	dev, err := d.API.Store.Device(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.Logger.Error("device page", "err", err)
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	events, err := d.API.Store.Events(r.Context(), store.EventFilter{DeviceID: dev.ID, Limit: maxRecentEvents})
	if err != nil {
		d.Logger.Error("device page", "err", err)
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	evs := make([]adminapi.EventJSON, 0, len(events))
	for _, e := range events {
		evs = append(evs, adminapi.EventView(e))
	}
	d.render(w, http.StatusOK, "device.html", page{Title: dev.Hostname, Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Device": d.API.DeviceView(dev), "Events": evs}})
}
