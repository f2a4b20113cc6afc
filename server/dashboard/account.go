package dashboard

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/auth"
)

// The account page: every role changes its own password and authenticator
// (each after re-authentication with the current password and a current
// code) and manages its API tokens.

// accountData is what account.html shows.
type accountData struct {
	// NewTOTP is set while a new authenticator is being enrolled.
	NewTOTP *enrolment
}

type enrolment struct {
	QR     template.HTML
	Secret string
}

func (d *Dashboard) account(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	notice := ""
	if ssoSession(s) {
		notice = ssoAccountNotice
	}
	d.accountPage(w, r, s, http.StatusOK, "", notice)
}

// ssoAccountNotice tells a single sign-on session where its credentials are.
const ssoAccountNotice = "You signed in through single sign-on: your password and second factor are managed by your organisation's identity provider, not here."

// ssoSession reports whether s was started through the OpenID Connect
// provider (its subject is "oidc:…", which no local username can be).
func ssoSession(s *admin.Session) bool { return strings.HasPrefix(s.Subject, "oidc:") }

// refuseSSOAccount answers a password or authenticator change of a single
// sign-on session, which has no local credentials.
func (d *Dashboard) refuseSSOAccount(w http.ResponseWriter, r *http.Request, s *admin.Session) bool {
	if !ssoSession(s) {
		return false
	}
	d.accountPage(w, r, s, http.StatusBadRequest, ssoAccountNotice, "")
	return true
}

func (d *Dashboard) accountPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, msg, notice string) {
	data := accountData{}
	pending, err := d.svc().PendingTOTPOf(r.Context(), s.Subject)
	switch {
	case err == nil:
		img, err := qrSVG(pending.URL, "QR code to add vcguard ("+s.Subject+") to your authenticator app")
		if err != nil {
			d.serverError(w, "account page", err)
			return
		}
		data.NewTOTP = &enrolment{QR: img, Secret: spaced(pending.Secret)}
	case errors.Is(err, admin.ErrNoPendingTOTP), errors.Is(err, admin.ErrNotFound):
		// Nothing being enrolled (or a session without an account).
	default:
		d.serverError(w, "account page", err)
		return
	}
	d.render(w, status, "account.html", page{Title: "Your account", Session: s, CSRF: s.CSRF, Error: msg, Notice: notice, Data: data})
}

// reauthOf reads the re-authentication fields of a form.
func reauthOf(r *http.Request) admin.Reauth {
	return admin.Reauth{Password: r.PostForm.Get("current_password"),
		Code: strings.ReplaceAll(r.PostForm.Get("current_code"), " ", ""), RemoteAddr: r.RemoteAddr}
}

// reauthFailed answers a failed re-authentication (or another error of the
// change); it reports false when err is nil.
func (d *Dashboard) reauthFailed(w http.ResponseWriter, r *http.Request, s *admin.Session, what string, err error) bool {
	var locked *auth.LockedError
	var busy *auth.BusyError
	switch {
	case err == nil:
		return false
	case errors.Is(err, admin.ErrInvalid):
		d.accountPage(w, r, s, http.StatusBadRequest, invalidMessage(err)+".", "")
	case errors.Is(err, auth.ErrLoginFailed):
		d.accountPage(w, r, s, http.StatusUnauthorized, "Your current password or code is wrong; nothing was changed.", "")
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(locked.Until.Sub(d.Login.Clock()))))
		d.accountPage(w, r, s, http.StatusTooManyRequests, "Too many failed attempts. Try again after "+locked.Until.UTC().Format("15:04")+" UTC.", "")
	case errors.As(err, &busy):
		w.Header().Set("Retry-After", strconv.Itoa(auth.RetrySeconds(busy.RetryAfter)))
		d.accountPage(w, r, s, http.StatusTooManyRequests, "The server is busy; please try again in a few seconds.", "")
	default:
		d.serverError(w, what, err)
	}
	return true
}

func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	if d.refuseSSOAccount(w, r, s) {
		return
	}
	err := d.svc().ChangeOwnPassword(r.Context(), d.Login, actor(r, s), s.Hash, reauthOf(r),
		r.PostForm.Get("new_password"), r.PostForm.Get("new_password2"))
	if d.reauthFailed(w, r, s, "change password", err) {
		return
	}
	d.accountPage(w, r, s, http.StatusOK, "", "Your password was changed; your other sessions were logged out.")
}

func (d *Dashboard) startTOTPReset(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	if d.refuseSSOAccount(w, r, s) {
		return
	}
	_, err := d.svc().StartTOTPReset(r.Context(), d.Login, actor(r, s), reauthOf(r))
	if d.reauthFailed(w, r, s, "start TOTP reset", err) {
		return
	}
	d.accountPage(w, r, s, http.StatusOK, "", "Scan the new code below, then confirm it with a code from the app. Until then your current authenticator keeps working.")
}

func (d *Dashboard) confirmTOTPReset(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	if d.refuseSSOAccount(w, r, s) {
		return
	}
	err := d.svc().ConfirmTOTPReset(r.Context(), actor(r, s), s.Hash, strings.ReplaceAll(r.PostForm.Get("code"), " ", ""))
	switch {
	case errors.Is(err, admin.ErrWrongCode):
		// Counted like a failed login: the code has a million values.
		ferr := d.Login.AddressFailed(r.Context(), r.RemoteAddr, s.Subject, "totp_confirm_failure", nil)
		if d.reauthFailed(w, r, s, "confirm TOTP reset", ferr) {
			return
		}
		d.accountPage(w, r, s, http.StatusBadRequest, admin.ErrWrongCode.Error()+".", "")
		return
	case errors.Is(err, admin.ErrNoPendingTOTP):
		d.accountPage(w, r, s, http.StatusConflict, admin.ErrNoPendingTOTP.Error()+".", "")
		return
	case err != nil:
		d.serverError(w, "confirm TOTP reset", err)
		return
	}
	d.accountPage(w, r, s, http.StatusOK, "", "Your new authenticator is enrolled; the old one no longer works and your other sessions were logged out.")
}

// Token lifetimes the form offers, in days; the first is the default.
var tokenDays = []int{90, 7, 30, 180, 365}

// tokensData is what tokens.html shows.
type tokensData struct {
	Tokens []apitypes.Token
	// All is set when the list is every token (an admin's view).
	All     bool
	Roles   []admin.Role
	Days    []int
	Created *apitypes.Token
	Now     time.Time
}

// grantable are the roles a session may give a token: its own or lower.
func grantable(role admin.Role) []admin.Role {
	var out []admin.Role
	// Least privileged first, so it is the default.
	for _, r := range []admin.Role{admin.RoleAuditor, admin.RoleAnalyst, admin.RoleAdmin} {
		if role.Covers(r) {
			out = append(out, r)
		}
	}
	return out
}

func (d *Dashboard) tokens(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	d.tokensPage(w, r, s, http.StatusOK, nil, "")
}

func (d *Dashboard) tokensPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, created *apitypes.Token, msg string) {
	data := tokensData{Roles: grantable(s.Role), Days: tokenDays, Created: created, Now: d.svc().Now()}
	var err error
	if s.Role == admin.RoleAdmin {
		data.All = true
		data.Tokens, err = d.svc().APITokens(r.Context())
	} else {
		data.Tokens, err = d.svc().APITokensOf(r.Context(), s.Subject)
	}
	if err != nil {
		d.serverError(w, "tokens page", err)
		return
	}
	d.render(w, status, "tokens.html", page{Title: "API tokens", Session: s, CSRF: s.CSRF, Error: msg, Data: data})
}

func (d *Dashboard) createToken(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	if ssoSession(s) {
		// Nothing would end such a token when the person leaves the
		// provider's group: tokens belong to local accounts.
		d.tokensPage(w, r, s, http.StatusBadRequest, nil, "API tokens belong to local accounts; you signed in through single sign-on. Ask an administrator for a local account to own the token.")
		return
	}
	days, err := strconv.Atoi(r.PostForm.Get("days"))
	if r.PostForm.Get("days") == "" {
		days, err = tokenDays[0], nil
	}
	if err != nil || days < 1 || days > 366 {
		d.tokensPage(w, r, s, http.StatusBadRequest, nil, "Expiry: choose a number of days from 1 to 366.")
		return
	}
	t, value, err := d.svc().IssueAPIToken(r.Context(), actor(r, s), admin.TokenRequest{Description: r.PostForm.Get("description"),
		Role: admin.Role(r.PostForm.Get("role")), TTL: time.Duration(days) * 24 * time.Hour, CreatorRole: s.Role, Owner: s.Subject})
	switch {
	case errors.Is(err, admin.ErrInvalid):
		d.tokensPage(w, r, s, http.StatusBadRequest, nil, invalidMessage(err)+".")
		return
	case err != nil:
		d.serverError(w, "create token", err)
		return
	}
	view := admin.TokenView(t)
	view.Value = value
	d.tokensPage(w, r, s, http.StatusOK, &view, "")
}

func (d *Dashboard) revokeToken(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	var err error
	if s.Role == admin.RoleAdmin {
		_, err = d.svc().RevokeAPIToken(r.Context(), actor(r, s), r.PathValue("tokenid"))
	} else {
		_, err = d.svc().RevokeOwnAPIToken(r.Context(), actor(r, s), s.Subject, r.PathValue("tokenid"))
	}
	switch {
	case errors.Is(err, admin.ErrNotFound):
		d.tokensPage(w, r, s, http.StatusNotFound, nil, "No such token of yours.")
		return
	case err != nil:
		d.serverError(w, "revoke token", err)
		return
	}
	http.Redirect(w, r, "/account/tokens", http.StatusSeeOther)
}
