package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/grpc/peer"
)

// Actor is who makes a change and from where, for the audit log: an
// admin's username, "token:ID" for an API token, or "system" (first start,
// the vcguard-server admin command).
type Actor struct {
	Subject    string
	RemoteAddr string
}

// SystemActor is the server itself and its command line.
var SystemActor = Actor{Subject: "system"}

// httpActor is the caller of an HTTP request.
func httpActor(r *http.Request, p auth.Principal) Actor {
	return Actor{Subject: p.Subject, RemoteAddr: auth.RemoteHost(r.RemoteAddr)}
}

// grpcActor is the caller of a gRPC call.
func grpcActor(ctx context.Context) Actor {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	a := Actor{Subject: p.Subject}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		a.RemoteAddr = auth.RemoteHost(pr.Addr.String())
	}
	return a
}

// Audit records a change in the audit log. A failure to record is logged,
// not returned: the change it describes has already happened.
func (a *API) Audit(ctx context.Context, by Actor, action, target string, detail any) {
	e := store.AuditEntry{At: a.now(), Actor: by.Subject, Action: action, Target: target, RemoteAddr: by.RemoteAddr}
	if err := auth.Audit(ctx, a.Store, e, detail); err != nil {
		a.Logger.Error("audit log: record failed", "action", action, "target", target, "actor", by.Subject, "err", err)
	}
}

func validRole(r store.Role) bool {
	return r == store.RoleAdmin || r == store.RoleAnalyst || r == store.RoleAuditor
}

func (a *API) passwordHash(pw string) (string, error) {
	if a.PasswordHashing != (auth.Argon2Params{}) {
		return auth.HashPasswordWith(pw, a.PasswordHashing)
	}
	return auth.HashPassword(pw)
}

// NewAdmin is a created account with its credentials, shown once.
type NewAdmin struct {
	Admin    store.Admin
	Password string
	// TOTPURL is the otpauth:// URL to enrol an authenticator app with.
	TOTPURL string
}

// CreateAdmin makes an account with a random password and a new TOTP
// secret, and records it in the audit log.
func (a *API) CreateAdmin(ctx context.Context, username string, role store.Role, by Actor) (NewAdmin, error) {
	name, err := auth.NormalizeUsername(username)
	if err != nil {
		return NewAdmin{}, fmt.Errorf("%w: username %q: %w", ErrInvalid, username, err)
	}
	if !validRole(role) {
		return NewAdmin{}, fmt.Errorf("%w: role %q: want admin, analyst or auditor", ErrInvalid, role)
	}
	key, err := auth.NewTOTPKey(name)
	if err != nil {
		return NewAdmin{}, err
	}
	pw := auth.NewPassword()
	hash, err := a.passwordHash(pw)
	if err != nil {
		return NewAdmin{}, err
	}
	adm := store.Admin{ID: "adm_" + auth.NewID(), Username: name, PasswordHash: hash, TOTPSecret: key.Secret(), Role: role,
		Created: a.now().UTC().Truncate(time.Microsecond)}
	if err := a.Store.CreateAdmin(ctx, adm); err != nil {
		return NewAdmin{}, err
	}
	a.Audit(ctx, by, "admin_add", "admin:"+name, map[string]any{"role": role})
	a.Logger.Info("admin added", "username", name, "role", role, "by", by.Subject)
	return NewAdmin{Admin: adm, Password: pw, TOTPURL: key.URL()}, nil
}

// ResetAdminPassword gives an account a new random password (and, with
// newTOTP, a new TOTP secret), ends its sessions and returns the new
// credentials once.
func (a *API) ResetAdminPassword(ctx context.Context, username string, newTOTP bool, by Actor) (NewAdmin, error) {
	adm, err := a.Store.AdminByUsername(ctx, username)
	if err != nil {
		return NewAdmin{}, err
	}
	pw := auth.NewPassword()
	hash, err := a.passwordHash(pw)
	if err != nil {
		return NewAdmin{}, err
	}
	if err := a.Store.SetAdminPassword(ctx, adm.Username, hash); err != nil {
		return NewAdmin{}, err
	}
	out := NewAdmin{Admin: adm, Password: pw}
	if newTOTP {
		key, err := auth.NewTOTPKey(adm.Username)
		if err != nil {
			return NewAdmin{}, err
		}
		if err := a.Store.SetAdminTOTP(ctx, adm.Username, key.Secret()); err != nil {
			return NewAdmin{}, err
		}
		out.TOTPURL = key.URL()
	}
	a.Audit(ctx, by, "admin_passwd", "admin:"+adm.Username, map[string]any{"new_totp": newTOTP})
	return out, nil
}

// ErrLastAdmin refuses to disable the last enabled account of role admin.
var ErrLastAdmin = errors.New("this is the last enabled admin account; add another admin first")

// DisableAdmin disables an account and ends its sessions at once.
func (a *API) DisableAdmin(ctx context.Context, username string, by Actor) (store.Admin, error) {
	adm, err := a.Store.AdminByUsername(ctx, username)
	if err != nil {
		return adm, err
	}
	if adm.Role == store.RoleAdmin && adm.Enabled() {
		all, err := a.Store.Admins(ctx)
		if err != nil {
			return adm, err
		}
		others := slices.ContainsFunc(all, func(o store.Admin) bool {
			return o.Username != adm.Username && o.Role == store.RoleAdmin && o.Enabled()
		})
		if !others {
			return adm, ErrLastAdmin
		}
	}
	if err := a.Store.DisableAdmin(ctx, adm.Username, a.now()); err != nil {
		return adm, err
	}
	a.Audit(ctx, by, "admin_disable", "admin:"+adm.Username, nil)
	return a.Store.AdminByUsername(ctx, adm.Username)
}

// EnableAdmin enables a disabled account again.
func (a *API) EnableAdmin(ctx context.Context, username string, by Actor) (store.Admin, error) {
	if err := a.Store.EnableAdmin(ctx, username); err != nil {
		return store.Admin{}, err
	}
	a.Audit(ctx, by, "admin_enable", "admin:"+username, nil)
	return a.Store.AdminByUsername(ctx, username)
}

// CreateAPIToken makes a token of a role; the value is returned once.
func (a *API) CreateAPIToken(ctx context.Context, description string, role store.Role, by Actor) (store.APIToken, string, error) {
	if !validRole(role) {
		return store.APIToken{}, "", fmt.Errorf("%w: role %q: want admin, analyst or auditor", ErrInvalid, role)
	}
	if len(description) > 200 {
		return store.APIToken{}, "", fmt.Errorf("%w: description longer than 200 bytes", ErrInvalid)
	}
	value, hash := auth.NewSecret("vcg_" + string(role) + "_")
	t := store.APIToken{ID: "tok_" + auth.NewID(), Description: description, Hash: hash, Role: role,
		Created: a.now().UTC().Truncate(time.Microsecond)}
	if err := a.Store.CreateAPIToken(ctx, t); err != nil {
		return t, "", err
	}
	a.Audit(ctx, by, "token_create", "token:"+t.ID, map[string]any{"role": role, "description": description})
	return t, value, nil
}

// RevokeAPIToken revokes a token at once.
func (a *API) RevokeAPIToken(ctx context.Context, id string, by Actor) (store.APIToken, error) {
	t, err := a.Store.RevokeAPIToken(ctx, id, a.now())
	if err != nil {
		return t, err
	}
	a.Audit(ctx, by, "token_revoke", "token:"+t.ID, nil)
	return t, nil
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

// AdminJSON is an administrator account in the JSON API (never its
// password hash or TOTP secret; the password and otpauth URL only once, on
// creation or reset).
type AdminJSON struct {
	Username  string     `json:"username"`
	Role      store.Role `json:"role"`
	Created   time.Time  `json:"created"`
	Disabled  *time.Time `json:"disabled,omitempty"`
	LastLogin *time.Time `json:"last_login,omitempty"`
	Password  string     `json:"password,omitempty"`
	TOTPURL   string     `json:"otpauth_url,omitempty"`
}

// AdminView converts a stored account.
func AdminView(a store.Admin) AdminJSON {
	return AdminJSON{Username: a.Username, Role: a.Role, Created: a.Created, Disabled: optTime(a.Disabled), LastLogin: optTime(a.LastLogin)}
}

func (a *API) listAdmins(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	admins, err := a.Store.Admins(r.Context())
	if err != nil {
		return err
	}
	out := make([]AdminJSON, 0, len(admins))
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
	created, err := a.CreateAdmin(r.Context(), req.Username, req.Role, httpActor(r, p))
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
	adm, err := a.DisableAdmin(r.Context(), r.PathValue("username"), httpActor(r, p))
	if errors.Is(err, ErrLastAdmin) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, AdminView(adm))
}

func (a *API) enableAdmin(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	adm, err := a.EnableAdmin(r.Context(), r.PathValue("username"), httpActor(r, p))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, AdminView(adm))
}

func (a *API) resetAdminPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	newTOTP := r.URL.Query().Get("totp") == "new"
	reset, err := a.ResetAdminPassword(r.Context(), r.PathValue("username"), newTOTP, httpActor(r, p))
	if err != nil {
		return err
	}
	out := AdminView(reset.Admin)
	out.Password, out.TOTPURL = reset.Password, reset.TOTPURL
	return writeJSON(w, http.StatusOK, out)
}

// TokenJSON is an API token in the JSON API (its value only once, on
// creation).
type TokenJSON struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	Role        store.Role `json:"role"`
	Created     time.Time  `json:"created"`
	Revoked     *time.Time `json:"revoked,omitempty"`
	Value       string     `json:"value,omitempty"`
}

func tokenView(t store.APIToken) TokenJSON {
	return TokenJSON{ID: t.ID, Description: t.Description, Role: t.Role, Created: t.Created, Revoked: optTime(t.Revoked)}
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	tokens, err := a.Store.APITokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]TokenJSON, 0, len(tokens))
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
	t, value, err := a.CreateAPIToken(r.Context(), req.Description, req.Role, httpActor(r, p))
	if err != nil {
		return err
	}
	out := tokenView(t)
	out.Value = value
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := a.RevokeAPIToken(r.Context(), r.PathValue("id"), httpActor(r, p))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenView(t))
}

// AuditJSON is an audit log entry in the JSON API.
type AuditJSON struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Detail     json.RawMessage `json:"detail"`
	RemoteAddr string          `json:"remote_addr"`
}

// AuditView converts a stored entry.
func AuditView(e store.AuditEntry) AuditJSON {
	return AuditJSON{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, RemoteAddr: e.RemoteAddr}
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
