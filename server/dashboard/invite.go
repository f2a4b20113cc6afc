package dashboard

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
)

// The invite page is public: whoever holds the one-time link sets the
// account up. Its token is in the path, so the page is never cached, sends
// no referrer (SecurityHeaders) and is never logged; a wrong, used or
// expired link counts as a failed login of the address, so links cannot
// be guessed faster than passwords.

const inviteCSRFCookie = "vcguard_invite_csrf"

// inviteData is what invite.html shows.
type inviteData struct {
	Username string
	Role     admin.Role
	Expires  string
	// QR is the otpauth URL as an inline SVG QR code; Secret the same
	// secret for typing in.
	QR     template.HTML
	Secret string
	// Done is set once the account is set up.
	Done bool
}

func (d *Dashboard) inviteForm(w http.ResponseWriter, r *http.Request) {
	d.showInvite(w, r, http.StatusOK, "")
}

// inviteLookup checks the address and the link; it answers the request
// itself and returns false when the page cannot be shown.
func (d *Dashboard) inviteLookup(w http.ResponseWriter, r *http.Request) (admin.OpenInvite, []byte, bool) {
	if !d.inviteAddressOK(w, r) {
		return admin.OpenInvite{}, nil, false
	}
	hash, err := auth.ParseInviteToken(r.PathValue("invite"))
	if err != nil {
		d.inviteRefused(w, r, http.StatusNotFound, "malformed", err.Error())
		return admin.OpenInvite{}, nil, false
	}
	open, err := d.svc().Invite(r.Context(), hash)
	switch {
	case errors.Is(err, admin.ErrNotFound):
		d.inviteRefused(w, r, http.StatusNotFound, "unknown", "This invite link is not valid: check that the whole link was copied, or ask an administrator for a new one.")
		return open, nil, false
	case errors.Is(err, admin.ErrInviteSpent):
		d.inviteRefused(w, r, http.StatusGone, "used or expired", admin.ErrInviteSpent.Error()+".")
		return open, nil, false
	case err != nil:
		d.serverError(w, "invite", err)
		return open, nil, false
	}
	return open, hash, true
}

// inviteAddressOK refuses an address locked out by failed logins or
// invite links.
func (d *Dashboard) inviteAddressOK(w http.ResponseWriter, r *http.Request) bool {
	err := d.Login.CheckAddress(r.Context(), r.RemoteAddr)
	var locked *auth.LockedError
	switch {
	case errors.As(err, &locked):
		d.inviteLocked(w, locked)
		return false
	case err != nil:
		d.serverError(w, "invite", err)
		return false
	}
	return true
}

func (d *Dashboard) inviteLocked(w http.ResponseWriter, locked *auth.LockedError) {
	w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(locked.Until.Sub(d.Login.Clock()))))
	d.render(w, http.StatusTooManyRequests, "invite.html", page{Title: "Set up your account",
		Error: "Too many failed attempts from your address. Try again after " + locked.Until.UTC().Format("15:04") + " UTC."})
}

// inviteRefused counts a refused link against the address and says why.
func (d *Dashboard) inviteRefused(w http.ResponseWriter, r *http.Request, status int, why, msg string) {
	err := d.Login.AddressFailed(r.Context(), r.RemoteAddr, "(invite link)", "invite_refused", map[string]any{"reason": why})
	var locked *auth.LockedError
	switch {
	case errors.As(err, &locked):
		d.inviteLocked(w, locked)
		return
	case err != nil:
		d.serverError(w, "invite", err)
		return
	}
	d.render(w, status, "invite.html", page{Title: "Set up your account", Error: msg})
}

func (d *Dashboard) showInvite(w http.ResponseWriter, r *http.Request, status int, msg string) {
	open, _, ok := d.inviteLookup(w, r)
	if !ok {
		return
	}
	img, err := qrSVG(open.TOTPURL, "QR code to add vcguard ("+open.Admin.Username+") to your authenticator app")
	if err != nil {
		d.serverError(w, "invite", err)
		return
	}
	// A form shown again after a refused answer keeps its token.
	csrf := randomToken()
	if c, err := r.Cookie(inviteCSRFCookie); err == nil && len(c.Value) == len(csrf) {
		csrf = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: inviteCSRFCookie, Value: csrf, Path: "/invite/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	d.render(w, status, "invite.html", page{Title: "Set up your account", CSRF: csrf, Error: msg, Data: inviteData{
		Username: open.Admin.Username, Role: open.Admin.Role, Expires: open.Invite.Expires.UTC().Format("2006-01-02 15:04 UTC"),
		QR: img, Secret: spaced(open.TOTPSecret)}})
}

// spaced groups a secret in fours for typing.
func spaced(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (d *Dashboard) redeemInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBodySize)
	if err := r.ParseForm(); err != nil {
		d.render(w, http.StatusBadRequest, "invite.html", page{Title: "Set up your account", Error: "The form could not be read."})
		return
	}
	c, err := r.Cookie(inviteCSRFCookie)
	if err != nil || !equal(c.Value, r.PostForm.Get("csrf")) {
		d.render(w, http.StatusForbidden, "invite.html", page{Title: "Set up your account", Error: "The form expired: open the invite link again."})
		return
	}
	open, hash, ok := d.inviteLookup(w, r)
	if !ok {
		return
	}
	release, err := d.Login.HashSlot(r.Context(), r.RemoteAddr)
	var busy *auth.BusyError
	if errors.As(err, &busy) {
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(busy.RetryAfter)))
		d.showInvite(w, r, http.StatusTooManyRequests, "The server is busy; please try again in a few seconds.")
		return
	}
	if err != nil {
		d.serverError(w, "invite", err)
		return
	}
	_, err = d.svc().RedeemInvite(r.Context(), hash, admin.InviteAnswer{Password: r.PostForm.Get("password"),
		PasswordAgain: r.PostForm.Get("password2"), Code: strings.ReplaceAll(r.PostForm.Get("code"), " ", ""), RemoteAddr: r.RemoteAddr})
	release()
	switch {
	case errors.Is(err, admin.ErrInvalid):
		d.showInvite(w, r, http.StatusBadRequest, invalidMessage(err)+".")
		return
	case errors.Is(err, admin.ErrWrongCode):
		ferr := d.Login.AddressFailed(r.Context(), r.RemoteAddr, open.Admin.Username, "invite_refused", map[string]any{"reason": "wrong TOTP code"})
		var locked *auth.LockedError
		if errors.As(ferr, &locked) {
			d.inviteLocked(w, locked)
			return
		}
		d.showInvite(w, r, http.StatusBadRequest, admin.ErrWrongCode.Error()+".")
		return
	case errors.Is(err, admin.ErrInviteSpent), errors.Is(err, admin.ErrNotFound):
		d.inviteRefused(w, r, http.StatusGone, "used or expired", admin.ErrInviteSpent.Error()+".")
		return
	case err != nil:
		d.serverError(w, "invite", err)
		return
	}
	d.render(w, http.StatusOK, "invite.html", page{Title: "Set up your account",
		Data: inviteData{Username: open.Admin.Username, Role: open.Admin.Role, Done: true}})
}
