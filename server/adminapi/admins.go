package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/auth"
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

func (a *API) listAdmins(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	admins, err := a.Admin.Admins(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, admins)
}

func (a *API) createAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Username string     `json:"username"`
		Role     admin.Role `json:"role"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	created, err := a.Admin.CreateAdmin(r.Context(), httpActor(r, p), req.Username, req.Role)
	if errors.Is(err, admin.ErrExists) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	if err != nil {
		return err
	}
	out := admin.AdminView(created.Admin)
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
	return writeJSON(w, http.StatusOK, admin.AdminView(adm))
}

func (a *API) enableAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	adm, err := a.Admin.EnableAdmin(r.Context(), httpActor(r, p), r.PathValue("username"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, admin.AdminView(adm))
}

func (a *API) resetAdminPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	newTOTP := r.URL.Query().Get("totp") == "new"
	reset, err := a.Admin.ResetAdminPassword(r.Context(), httpActor(r, p), r.PathValue("username"), newTOTP)
	if err != nil {
		return err
	}
	out := admin.AdminView(reset.Admin)
	out.Password, out.TOTPURL = reset.Password, reset.TOTPURL
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	tokens, err := a.Admin.APITokens(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokens)
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Description string     `json:"description"`
		Role        admin.Role `json:"role"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	t, value, err := a.Admin.CreateAPIToken(r.Context(), httpActor(r, p), req.Description, req.Role)
	if err != nil {
		return err
	}
	out := admin.TokenView(t)
	out.Value = value
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := a.Admin.RevokeAPIToken(r.Context(), httpActor(r, p), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, admin.TokenView(t))
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	return a.listAuditPage(w, r)
}
