package dashboard

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/oidclogin"
)

// Sign-in through the OpenID Connect provider (Dashboard.OIDC): GET
// /oidc/login sends the browser to the provider with a fresh state, nonce
// and PKCE challenge, kept for ten minutes in a cookie only /oidc/ sees
// (SameSite=Lax: the provider's redirect back is a cross-site navigation
// that Strict would strip it from); GET /oidc/callback takes that cookie
// once, whatever happens, and completes the sign-in. Refusals count
// against the address like failed logins and are audited as
// login_failure with method oidc and the reason.

const (
	oidcCookie    = "vcguard_oidc"
	oidcCookieTTL = 10 * time.Minute
	// maxOIDCParam bounds the callback's query parameters.
	maxOIDCParam = 4096
)

// encodePending puts a pending sign-in in a cookie value: state, nonce and
// verifier, each base64url (no '.').
func encodePending(p oidclogin.Pending) string {
	return p.State + "." + p.Nonce + "." + p.Verifier
}

// decodePending reads a cookie value made by encodePending.
func decodePending(v string) (oidclogin.Pending, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return oidclogin.Pending{}, false
	}
	for _, p := range parts {
		if len(p) < 32 || len(p) > 128 || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return oidclogin.Pending{}, false
		}
	}
	return oidclogin.Pending{State: parts[0], Nonce: parts[1], Verifier: parts[2]}, true
}

func (d *Dashboard) oidcName() string {
	if d.OIDC == nil {
		return ""
	}
	return d.OIDC.Name()
}

func (d *Dashboard) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if d.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	if d.refuseLockedAddress(w, r) {
		return
	}
	authURL, pend, err := d.OIDC.Begin(r.Context())
	if err != nil {
		d.Logger.Error("oidc sign-in", "err", err)
		d.renderLogin(w, http.StatusServiceUnavailable, "Sign-in with "+d.OIDC.Name()+" is not available: the server cannot reach "+
			d.OIDC.Issuer()+". Try again later or log in with a local account.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: encodePending(pend), Path: "/oidc/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(oidcCookieTTL / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// refuseLockedAddress answers 429 when the address is locked out by failed
// logins.
func (d *Dashboard) refuseLockedAddress(w http.ResponseWriter, r *http.Request) bool {
	err := d.Login.CheckAddress(r.Context(), r.RemoteAddr)
	var locked *auth.LockedError
	switch {
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(locked.Until.Sub(d.Login.Clock()))))
		d.renderLogin(w, http.StatusTooManyRequests, "Too many failed logins from your address. Try again after "+
			locked.Until.UTC().Format("15:04")+" UTC.")
		return true
	case err != nil:
		d.Logger.Error("oidc sign-in", "err", err)
		d.renderLogin(w, http.StatusInternalServerError, "Server error; see the server log.")
		return true
	}
	return false
}

// oneParam is a query parameter given at most once and of bounded size.
func oneParam(r *http.Request, name string) (string, bool) {
	v := r.URL.Query()[name]
	switch {
	case len(v) == 0:
		return "", true
	case len(v) > 1 || len(v[0]) > maxOIDCParam:
		return "", false
	}
	return v[0], true
}

func (d *Dashboard) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if d.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	// The pending sign-in is used once, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/oidc/", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	if d.refuseLockedAddress(w, r) {
		return
	}
	var pend oidclogin.Pending
	ok := false
	if c, err := r.Cookie(oidcCookie); err == nil {
		pend, ok = decodePending(c.Value)
	}
	state, sok := oneParam(r, "state")
	code, cok := oneParam(r, "code")
	idpErr, eok := oneParam(r, "error")
	switch {
	case !ok || !sok || !equal(pend.State, state):
		d.oidcRefused(w, r, "bad state (expired, already used or from another browser)", oidclogin.Identity{})
		return
	case !eok || idpErr != "":
		d.oidcRefused(w, r, "the provider refused: "+printable(idpErr, 64), oidclogin.Identity{})
		return
	case !cok || code == "":
		d.oidcRefused(w, r, "no code in the callback", oidclogin.Identity{})
		return
	}
	id, err := d.OIDC.Finish(r.Context(), code, pend)
	var refused *oidclogin.Refusal
	switch {
	case errors.As(err, &refused):
		d.oidcRefused(w, r, refused.Error(), refused.Identity)
		return
	case err != nil:
		d.Logger.Error("oidc sign-in", "err", err)
		d.renderLogin(w, http.StatusServiceUnavailable, "Sign-in with "+d.OIDC.Name()+" is not available: the server cannot reach "+
			d.OIDC.Issuer()+". Try again later or log in with a local account.")
		return
	}
	sessID := randomToken()
	now := time.Now().UTC()
	label := id.Label()
	sess := admin.Session{Hash: auth.Hash(sessID), Subject: label, Role: id.Role, CSRF: randomToken(), Created: now,
		Expires: now.Add(sessionLifetime)}
	remote := auth.RemoteHost(r.RemoteAddr)
	prev, err := d.svc().StartOIDCSession(r.Context(),
		admin.OIDCIdentity{Issuer: id.Issuer, Subject: id.Subject, Label: label, Role: id.Role, LastLogin: now}, sess, remote,
		map[string]any{"method": "oidc", "issuer": id.Issuer, "sub": id.Subject, "role": id.Role, "claim_values": boundedValues(id.Values)})
	if err != nil {
		d.Logger.Error("oidc sign-in", "err", err)
		d.renderLogin(w, http.StatusInternalServerError, "Server error; see the server log.")
		return
	}
	d.Logger.Info("dashboard login", "method", "oidc", "subject", label, "role", id.Role, "previous_role", prev, "remote", remote)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sessID, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires})
	d.render(w, http.StatusOK, "signed_in.html", page{Title: "Signed in", Notice: label + " (" + string(id.Role) + ")", Data: homeOf(id.Role)})
}

// oidcRefused audits a refused sign-in, counts it against the address like
// a failed login, and shows the login page with the reason.
func (d *Dashboard) oidcRefused(w http.ResponseWriter, r *http.Request, reason string, id oidclogin.Identity) {
	actor := "(oidc)"
	detail := map[string]any{"method": "oidc", "reason": reason}
	if id.Subject != "" {
		actor = id.Label()
		detail["issuer"], detail["sub"], detail["claim_values"] = id.Issuer, id.Subject, boundedValues(id.Values)
	}
	err := d.Login.AddressFailed(r.Context(), r.RemoteAddr, actor, "login_failure", detail)
	var locked *auth.LockedError
	switch {
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(locked.Until.Sub(d.Login.Clock()))))
		d.renderLogin(w, http.StatusTooManyRequests, "Too many failed logins from your address. Try again after "+
			locked.Until.UTC().Format("15:04")+" UTC.")
	case err != nil:
		d.Logger.Error("oidc sign-in", "err", err)
		d.renderLogin(w, http.StatusInternalServerError, "Server error; see the server log.")
	default:
		d.renderLogin(w, http.StatusUnauthorized, "Sign-in with "+d.OIDC.Name()+" was refused: "+reason+".")
	}
}

// boundedValues keeps the audit entry of a sign-in small whatever the
// provider sends: at most 20 claim values of at most 128 bytes.
func boundedValues(v []string) []string {
	out := make([]string, 0, min(len(v), 20))
	for _, s := range v[:min(len(v), 20)] {
		out = append(out, printable(s, 128))
	}
	return out
}

// printable cuts s to n bytes and drops control characters.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}
