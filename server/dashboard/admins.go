package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/vcguard/vcguard/server/admin"
)

func (d *Dashboard) adminsPage(w http.ResponseWriter, r *http.Request, s *admin.Session, status int, created *admin.NewAdmin, msg string) {
	list, err := d.svc().Admins(r.Context())
	if err != nil {
		d.serverError(w, "admins page", err)
		return
	}
	d.render(w, status, "admins.html", page{Title: "Administrators", Session: s, CSRF: s.CSRF, Error: msg,
		Data: map[string]any{"Admins": list, "Created": created, "Roles": []admin.Role{admin.RoleAdmin, admin.RoleAnalyst, admin.RoleAuditor}}})
}

func (d *Dashboard) admins(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	d.adminsPage(w, r, s, http.StatusOK, nil, "")
}

// createAdmin adds an account and shows its password and otpauth URL once.
func (d *Dashboard) createAdmin(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	created, err := d.svc().CreateAdmin(r.Context(), actor(r, s), r.PostForm.Get("username"), admin.Role(r.PostForm.Get("role")))
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
	d.adminsPage(w, r, s, http.StatusOK, &created, "")
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
