package adminapi

import (
	"encoding/json"
	"errors"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"net/http"
	"strconv"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
)

// httpActor is the caller of an HTTP request.
func httpActor(r *http.Request, p auth.Principal) admin.Actor {
	return admin.Actor{Subject: p.Subject, RemoteAddr: auth.RemoteHost(r.RemoteAddr)}
}

// decodeBody reads a small JSON request body, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &httpError{http.StatusBadRequest, "request body: " + err.Error()}
	}
	return nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// AdminView converts a stored account.
func AdminView(a store.Admin) apitypes.Admin {
	return apitypes.Admin{Username: a.Username, Role: string(a.Role), Created: a.Created, Disabled: optTime(a.Disabled), LastLogin: optTime(a.LastLogin)}
}

func (a *API) listAdmins(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	admins, err := a.Admin.Store.Admins(r.Context())
	if err != nil {
		return err
	}
	out := make([]apitypes.Admin, 0, len(admins))
	for _, adm := range admins {
		out = append(out, AdminView(adm))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) createAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Username string     `json:"username"`
		Role     store.Role `json:"role"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	created, err := a.Admin.CreateAdmin(r.Context(), httpActor(r, p), req.Username, req.Role)
	if errors.Is(err, store.ErrExists) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	if err != nil {
		return err
	}
	out := AdminView(created.Admin)
	out.Password, out.TOTPURL = created.Password, created.TOTPURL
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) disableAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	adm, err := a.Admin.DisableAdmin(r.Context(), httpActor(r, p), r.PathValue("username"))
	if errors.Is(err, admin.ErrLastAdmin) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, AdminView(adm))
}

func (a *API) enableAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	adm, err := a.Admin.EnableAdmin(r.Context(), httpActor(r, p), r.PathValue("username"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, AdminView(adm))
}

func (a *API) resetAdminPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	newTOTP := r.URL.Query().Get("totp") == "new"
	reset, err := a.Admin.ResetAdminPassword(r.Context(), httpActor(r, p), r.PathValue("username"), newTOTP)
	if err != nil {
		return err
	}
	out := AdminView(reset.Admin)
	out.Password, out.TOTPURL = reset.Password, reset.TOTPURL
	return writeJSON(w, http.StatusOK, out)
}

func tokenView(t store.APIToken) apitypes.Token {
	return apitypes.Token{ID: t.ID, Description: t.Description, Role: string(t.Role), Created: t.Created, Revoked: optTime(t.Revoked)}
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	tokens, err := a.Admin.Store.APITokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]apitypes.Token, 0, len(tokens))
	for _, t := range tokens {
		out = append(out, tokenView(t))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Description string     `json:"description"`
		Role        store.Role `json:"role"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	t, value, err := a.Admin.CreateAPIToken(r.Context(), httpActor(r, p), req.Description, req.Role)
	if err != nil {
		return err
	}
	out := tokenView(t)
	out.Value = value
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := a.Admin.RevokeAPIToken(r.Context(), httpActor(r, p), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenView(t))
}

// AuditView converts a stored entry.
func AuditView(e store.AuditEntry) apitypes.AuditEntry {
	return apitypes.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, RemoteAddr: e.RemoteAddr}
}

// AuditFilterFromQuery reads ?actor=&action=&limit=&cursor= (limit 1 to
// 1000, default 100; cursor is the next_cursor of the page before, the id
// below which to go on; before= is its older name).
func AuditFilterFromQuery(q map[string][]string) (store.AuditFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := store.AuditFilter{Actor: get("actor"), Action: get("action"), Limit: DefaultAuditLimit}
	for _, name := range []string{"before", "cursor"} {
		s := get(name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, &httpError{http.StatusBadRequest, name + " " + strconv.Quote(s) + ": must be the next_cursor of the previous page (an audit entry id)"}
		}
		f.Before = n
	}
	var err error
	f.Limit, err = pageLimit(q, DefaultAuditLimit, store.MaxAuditLimit)
	return f, err
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	return a.listAuditPage(w, r)
}
