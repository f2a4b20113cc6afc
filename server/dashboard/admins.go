package dashboard

import (
	"errors"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"strings"

	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/store"
)

func (d *Dashboard) adminsPage(w http.ResponseWriter, r *http.Request, s *store.Session, status int, created *admin.NewAdmin, msg string) {
	list, err := d.API.Admin.Store.Admins(r.Context())
	if err != nil {
		d.serverError(w, "admins page", err)
		return
	}
	views := make([]apitypes.Admin, 0, len(list))
	for _, a := range list {
		views = append(views, adminapi.AdminView(a))
	}
	d.render(w, status, "admins.html", page{Title: "Administrators", Session: s, CSRF: s.CSRF, Error: msg,
		Data: map[string]any{"Admins": views, "Created": created, "Roles": []store.Role{store.RoleAdmin, store.RoleAnalyst, store.RoleAuditor}}})
}

func (d *Dashboard) admins(w http.ResponseWriter, r *http.Request, s *store.Session) {
	d.adminsPage(w, r, s, http.StatusOK, nil, "")
}

// createAdmin adds an account and shows its password and otpauth URL once.
func (d *Dashboard) createAdmin(w http.ResponseWriter, r *http.Request, s *store.Session) {
	created, err := d.API.Admin.CreateAdmin(r.Context(), actor(r, s), r.PostForm.Get("username"), store.Role(r.PostForm.Get("role")))
	switch {
	case errors.Is(err, store.ErrExists):
		d.adminsPage(w, r, s, http.StatusConflict, nil, "An account of that name exists already.")
		return
	case errors.Is(err, admin.ErrInvalid):
		d.adminsPage(w, r, s, http.StatusBadRequest, nil, strings.TrimPrefix(err.Error(), admin.ErrInvalid.Error()+": "))
		return
	case err != nil:
		d.serverError(w, "create admin", err)
		return
	}
	d.adminsPage(w, r, s, http.StatusOK, &created, "")
}

func (d *Dashboard) disableAdmin(w http.ResponseWriter, r *http.Request, s *store.Session) {
	_, err := d.API.Admin.DisableAdmin(r.Context(), actor(r, s), r.PathValue("username"))
	switch {
	case errors.Is(err, admin.ErrLastAdmin):
		d.adminsPage(w, r, s, http.StatusConflict, nil, err.Error())
		return
	case errors.Is(err, store.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		d.serverError(w, "disable admin", err)
		return
	}
	http.Redirect(w, r, "/admins", http.StatusSeeOther)
}

func (d *Dashboard) enableAdmin(w http.ResponseWriter, r *http.Request, s *store.Session) {
	_, err := d.API.Admin.EnableAdmin(r.Context(), actor(r, s), r.PathValue("username"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		d.serverError(w, "enable admin", err)
		return
	}
	http.Redirect(w, r, "/admins", http.StatusSeeOther)
}
