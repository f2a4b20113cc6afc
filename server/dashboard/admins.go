package dashboard

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/admin"
)

// invited is an invite link shown once on the admins page.
type invited struct {
	Username string
	Role     admin.Role
	URL      string
	Expires  time.Time
	// Reset is set for an existing account set up again.
	Reset bool
}

// adminsData is what admins.html shows.
type adminsData struct {
	Admins  any
	Invites map[string]admin.Invite
	Invited *invited
	// Roles are offered least privileged first, so the form's default is
	// the least privileged role.
	Roles []admin.Role
	Now   time.Time
	// SSO are the administrators who signed in through the OpenID Connect
	// provider; SSOName is its name ("" when none is configured).
	SSO     []admin.OIDCIdentity
	SSOName string
}

func (d *Dashboard) adminsPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, inv *invited, msg string) {
	list, err := d.svc().Admins(r.Context())
	if err != nil {
		d.serverError(w, "admins page", err)
		return
	}
	open, err := d.svc().OpenInvites(r.Context())
	if err != nil {
		d.serverError(w, "admins page", err)
		return
	}
	sso, err := d.svc().OIDCIdentities(r.Context())
	if err != nil {
		d.serverError(w, "admins page", err)
		return
	}
	d.render(w, status, "admins.html", page{Title: "Administrators", Session: s, CSRF: s.CSRF, Error: msg,
		Data: adminsData{Admins: list, Invites: open, Invited: inv, Now: d.svc().Now(),
			Roles: []admin.Role{admin.DefaultRole, admin.RoleAnalyst, admin.RoleAdmin}, SSO: sso, SSOName: d.oidcName()}})
}

func (d *Dashboard) admins(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	d.adminsPage(w, r, s, http.StatusOK, nil, "")
}

// inviteURL is the absolute invite link of token, on the host the admin
// reached the dashboard at.
func inviteURL(r *http.Request, token string) string {
	scheme := "https"
	if r.TLS == nil && !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "http"
	}
	return scheme + "://" + r.Host + admin.InvitePath(token)
}

// createAdmin adds an account without a password and shows its one-time
// invite link once.
func (d *Dashboard) createAdmin(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	inv, err := d.svc().InviteAdmin(r.Context(), actor(r, s), r.PostForm.Get("username"), admin.Role(r.PostForm.Get("role")))
	switch {
	case errors.Is(err, admin.ErrExists):
		d.adminsPage(w, r, s, http.StatusConflict, nil, "An account of that name exists already.")
		return
	case errors.Is(err, admin.ErrInvalid):
		d.adminsPage(w, r, s, http.StatusBadRequest, nil, invalidMessage(err))
		return
	case err != nil:
		d.serverError(w, "create admin", err)
		return
	}
	d.adminsPage(w, r, s, http.StatusOK, &invited{Username: inv.Admin.Username, Role: inv.Admin.Role, URL: inviteURL(r, inv.Token),
		Expires: inv.Expires}, "")
}

// reinviteAdmin sets another account up again with a new invite link.
func (d *Dashboard) reinviteAdmin(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	inv, err := d.svc().ReinviteAdmin(r.Context(), actor(r, s), r.PathValue("username"))
	switch {
	case errors.Is(err, admin.ErrNotFound):
		http.NotFound(w, r)
		return
	case errors.Is(err, admin.ErrInvalid):
		d.adminsPage(w, r, s, http.StatusBadRequest, nil, invalidMessage(err))
		return
	case err != nil:
		d.serverError(w, "reset admin", err)
		return
	}
	d.adminsPage(w, r, s, http.StatusOK, &invited{Username: inv.Admin.Username, Role: inv.Admin.Role, URL: inviteURL(r, inv.Token),
		Expires: inv.Expires, Reset: true}, "")
}

func (d *Dashboard) disableAdmin(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	_, err := d.svc().DisableAdmin(r.Context(), actor(r, s), r.PathValue("username"))
	switch {
	case errors.Is(err, admin.ErrLastAdmin):
		d.adminsPage(w, r, s, http.StatusConflict, nil, err.Error())
		return
	case errors.Is(err, admin.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		d.serverError(w, "disable admin", err)
		return
	}
	http.Redirect(w, r, "/admins", http.StatusSeeOther)
}

func (d *Dashboard) enableAdmin(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	_, err := d.svc().EnableAdmin(r.Context(), actor(r, s), r.PathValue("username"))
	switch {
	case errors.Is(err, admin.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		d.serverError(w, "enable admin", err)
		return
	}
	http.Redirect(w, r, "/admins", http.StatusSeeOther)
}

// invalidMessage is the message of an admin.ErrInvalid error without its
// prefix, for a person at the form.
func invalidMessage(err error) string {
	return strings.TrimPrefix(err.Error(), admin.ErrInvalid.Error()+": ")
}
