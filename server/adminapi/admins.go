package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
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

// invitationView is an invited account with its one-time link, on the
// host the request reached.
func invitationView(r *http.Request, inv admin.Invitation) apitypes.Admin {
	out := admin.AdminView(inv.Admin)
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	out.InviteURL = scheme + "://" + r.Host + admin.InvitePath(inv.Token)
	out.InviteExpires = &inv.Expires
	return out
}

// createAdmin invites an account: no password is made or shown; the
// answer carries the one-time invite link.
func (a *API) createAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Username string     `json:"username"`
		Role     admin.Role `json:"role"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	inv, err := a.Admin.InviteAdmin(r.Context(), httpActor(r, p), req.Username, req.Role)
	if errors.Is(err, admin.ErrExists) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, invitationView(r, inv))
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

// reinviteAdmin sets an account up again: its password and authenticator
// stop working, its sessions end, and the answer carries a new invite link.
func (a *API) reinviteAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	inv, err := a.Admin.ReinviteAdmin(r.Context(), httpActor(r, p), r.PathValue("username"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invitationView(r, inv))
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
		// TTLSeconds is how long the token works (default 90 days, at
		// most 366).
		TTLSeconds int64 `json:"ttl_seconds"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(admin.MaxTokenTTL/time.Second) {
		return &httpError{http.StatusBadRequest, fmt.Sprintf("ttl_seconds %d: want 60 to %d (default %d, 90 days)",
			req.TTLSeconds, int64(admin.MaxTokenTTL/time.Second), int64(admin.DefaultTokenTTL/time.Second))}
	}
	t, value, err := a.Admin.IssueAPIToken(r.Context(), httpActor(r, p), admin.TokenRequest{Description: req.Description, Role: req.Role,
		TTL: time.Duration(req.TTLSeconds) * time.Second, CreatorRole: p.Role, Owner: p.Owner})
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
