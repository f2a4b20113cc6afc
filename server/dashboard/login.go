package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
)

// loginFields is a parsed login form. All three credentials are required.
type loginFields struct {
	CSRF, Username, Password, Code string
}

// errLoginForm is a form that is not a login: a field missing, too long or
// of the wrong shape. It counts as a failed login like wrong credentials.
var errLoginForm = errors.New("fill in username, password and the 6-digit code")

// parseLoginForm reads the login form's fields from untrusted input: each
// field at most once, the username normalised, spaces in the code (as
// authenticator apps show it, "123 456") dropped.
func parseLoginForm(form url.Values) (loginFields, error) {
	var f loginFields
	for _, k := range []string{"csrf", "username", "password", "code"} {
		if len(form[k]) > 1 {
			return f, errLoginForm
		}
	}
	f.CSRF = form.Get("csrf")
	f.Password = form.Get("password")
	f.Code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, form.Get("code"))
	username, err := auth.NormalizeUsername(form.Get("username"))
	switch {
	case err != nil, f.Password == "", len(f.Password) > auth.MaxPasswordLen, len(f.Code) != auth.TOTPDigits:
		// Keep the username for the audit log only if it is well formed.
		f.Username = username
		return f, errLoginForm
	}
	for _, c := range f.Code {
		if c < '0' || c > '9' {
			f.Username = username
			return f, errLoginForm
		}
	}
	f.Username = username
	return f, nil
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBodySize)
	if err := r.ParseForm(); err != nil {
		d.renderLogin(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !equal(c.Value, r.PostForm.Get("csrf")) {
		d.renderLogin(w, http.StatusForbidden, "The form expired; please try again.")
		return
	}
	f, ferr := parseLoginForm(r.PostForm)
	attempt := auth.Attempt{Username: f.Username, Password: f.Password, Code: f.Code, RemoteAddr: r.RemoteAddr}
	if ferr != nil && f.Username == "" {
		// Counted against the address all the same.
		attempt.Username = r.PostForm.Get("username")
	}
	if ferr != nil {
		// A malformed form still counts as a failure, so it cannot be
		// used to probe without tripping the lockout.
		attempt.Code = "-"
	}
	acct, err := d.Login.Authenticate(r.Context(), attempt)
	var locked *auth.LockedError
	var busy *auth.BusyError
	switch {
	case errors.As(err, &busy):
		// Refused before any check, so nothing was counted: the client
		// may simply try again.
		d.svc().Metrics.Refused("login_busy")
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(busy.RetryAfter)))
		d.renderLogin(w, http.StatusTooManyRequests, "The server is busy checking other logins. Please try again in "+
			strconv.Itoa(auth.RetrySeconds(busy.RetryAfter))+" seconds.")
		return
	case errors.As(err, &locked):
		wait := locked.Until.Sub(d.Login.Clock())
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(wait)))
		if wait < time.Minute {
			d.renderLogin(w, http.StatusTooManyRequests, "This username has failed too often from your address. Try again in "+
				strconv.Itoa(auth.RetrySeconds(wait))+" seconds.")
			return
		}
		d.renderLogin(w, http.StatusTooManyRequests, "Too many failed logins for this username or from your address. Try again after "+
			locked.Until.UTC().Format("15:04")+" UTC.")
		return
	case errors.Is(err, auth.ErrLoginFailed) && ferr != nil:
		d.renderLogin(w, http.StatusUnauthorized, "Fill in username, password and the 6-digit code from your authenticator app.")
		return
	case errors.Is(err, auth.ErrLoginFailed):
		d.renderLogin(w, http.StatusUnauthorized, "Wrong username, password or code.")
		return
	case err != nil:
		d.Logger.Error("login", "err", err)
		d.renderLogin(w, http.StatusInternalServerError, "Server error; see the server log.")
		return
	}
	id := randomToken()
	now := time.Now().UTC()
	sess := admin.Session{Hash: auth.Hash(id), Subject: acct.Username, Role: acct.Role, CSRF: randomToken(), Created: now, Expires: now.Add(sessionLifetime)}
	if err := d.svc().StartSession(r.Context(), sess); err != nil {
		d.Logger.Error("login", "err", err)
		d.renderLogin(w, http.StatusInternalServerError, "Server error; see the server log.")
		return
	}
	d.Logger.Info("dashboard login", "username", acct.Username, "role", acct.Role, "remote", auth.RemoteHost(r.RemoteAddr))
	// The login form's CSRF cookie has done its work.
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires})
	http.Redirect(w, r, homeOf(acct.Role), http.StatusSeeOther)
}

// homeOf is the first page a role may open.
func homeOf(role admin.Role) string {
	if role == admin.RoleAuditor {
		return "/audit"
	}
	return "/"
}
