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
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
)

// Route is one JSON API route.
type Route struct {
	// Pattern is the http.ServeMux pattern, e.g. "GET /api/v1/devices/{id}".
	Pattern string
	// Roles may call the route; a token of another role gets 403.
	Roles  []admin.Role
	handle handlerFunc
}

// Routes lists every JSON API route; Register adds exactly these, so a test
// that walks the list covers every route.
func (a *API) Routes() []Route {
	read := []admin.Role{admin.RoleAdmin, admin.RoleAnalyst}
	write := []admin.Role{admin.RoleAdmin}
	audit := []admin.Role{admin.RoleAdmin, admin.RoleAuditor}
	return []Route{
		{"GET /api/v1/devices", read, a.listDevices},
		{"GET /api/v1/devices/{id}", read, a.getDevice},
		{"GET /api/v1/events", read, a.listEvents},
		{"GET /api/v1/connections", read, a.listConnections},
		{"GET /api/v1/browser-meetings", read, a.browserMeetings},
		{"GET /api/v1/policies", read, a.listPolicies},
		{"GET /api/v1/policies/{version}", read, a.getPolicy},
		{"POST /api/v1/policies", write, a.publishPolicy},
		{"POST /api/v1/policies/validate", write, a.validatePolicy},
		{"GET /api/v1/policies/{version}/diff", read, a.diffPolicy},
		{"POST /api/v1/policies/{version}/rollback", write, a.rollbackPolicy},
		{"GET /api/v1/catalogs", read, a.listCatalogs},
		{"POST /api/v1/catalogs", write, a.publishCatalog},
		{"GET /api/v1/enrollment-secrets", write, a.listSecrets},
		{"POST /api/v1/enrollment-secrets", write, a.createSecret},
		{"POST /api/v1/enrollment-secrets/{id}/revoke", write, a.revokeSecret},
		{"POST /api/v1/devices/{id}/revoke", write, a.revokeDevice},
		{"POST /api/v1/devices/{id}/group", write, a.setDeviceGroup},
		{"GET /api/v1/audit", audit, a.listAudit},
		{"GET /api/v1/tokens", write, a.listTokens},
		{"POST /api/v1/tokens", write, a.createToken},
		{"POST /api/v1/tokens/{id}/revoke", write, a.revokeToken},
		{"GET /api/v1/admins", write, a.listAdmins},
		{"POST /api/v1/admins", write, a.createAdmin},
		{"POST /api/v1/admins/{username}/disable", write, a.disableAdmin},
		{"POST /api/v1/admins/{username}/enable", write, a.enableAdmin},
		{"POST /api/v1/admins/{username}/invite", write, a.reinviteAdmin},
	}
}

// Register adds the JSON API routes (under /api/v1/) to mux, and the
// API's OpenAPI description at OpenAPIPath (no token needed).
func (a *API) Register(mux *http.ServeMux) {
	for _, r := range a.Routes() {
		mux.Handle(r.Pattern, a.authed(r.Roles, r.handle))
	}
	mux.HandleFunc("GET "+OpenAPIPath, a.serveOpenAPI)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// httpError is an error with the status to answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func (a *API) authed(roles []admin.Role, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Tokens.CheckRequest(r)
		if errors.Is(err, auth.ErrUnauthenticated) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vcguard"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid API token: send 'Authorization: Bearer <token>'")
			return
		}
		if err != nil {
			a.Logger.Error("check token", "err", err)
			writeError(w, http.StatusInternalServerError, "server error")
			return
		}
		allowed := false
		for _, role := range roles {
			allowed = allowed || p.Role == role
		}
		if !allowed {
			writeError(w, http.StatusForbidden, "role "+string(p.Role)+" may not do this")
			return
		}
		if err := h(w, r, p); err != nil {
			var he *httpError
			switch {
			case errors.As(err, &he):
				writeError(w, he.status, he.msg)
			case errors.Is(err, admin.ErrInvalid):
				writeError(w, http.StatusBadRequest, err.Error())
			case errors.Is(err, admin.ErrNotFound):
				writeError(w, http.StatusNotFound, err.Error())
			default:
				a.Logger.Error("admin API", "method", r.Method, "path", r.URL.Path, "err", err)
				writeError(w, http.StatusInternalServerError, "server error")
			}
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	_ = writeJSON(w, status, map[string]string{"error": msg})
}

// listDevices answers one page of devices (see DeviceQueryFrom), as
// summaries without their app and media rows.
func (a *API) listDevices(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Admin.Metrics.StoreTimer(metrics.OpListDevices)
	defer storeDone()
	return a.listDevicesPage(w, r)
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Admin.Metrics.StoreTimer(metrics.OpGetDevice)
	d, err := a.Admin.Device(r.Context(), r.PathValue("id"))
	storeDone()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// EventView is a stored event as the JSON API answers it (the admin
// service's view, for tests that compare with the API's events).
func EventView(e store.StoredEvent) apitypes.Event { return admin.EventView(e) }

// listEvents answers one page of events, newest first (see
// EventQueryFrom), capped in rows and bytes.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Admin.Metrics.StoreTimer(metrics.OpListEvents)
	defer storeDone()
	return a.listEventsPage(w, r)
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	secrets, err := a.Admin.EnrollmentSecrets(r.Context())
	if err != nil {
		return err
	}
	out := make([]apitypes.Secret, 0, len(secrets))
	for _, e := range secrets {
		out = append(out, e.Secret)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) createSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Description string `json:"description"`
		TTLSeconds  int64  `json:"ttl_seconds"` // 0: 7 days
		Group       string `json:"group"`
		MaxUses     int64  `json:"max_uses"` // 0: no limit
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return &httpError{http.StatusBadRequest, "request body: " + err.Error()}
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(admin.MaxSecretTTL/time.Second) {
		return &httpError{http.StatusBadRequest, fmt.Sprintf("ttl_seconds %d: want 0 (the default, 7 days) to %d", req.TTLSeconds, int64(admin.MaxSecretTTL/time.Second))}
	}
	e, value, err := a.Admin.CreateEnrollmentSecret(r.Context(), httpActor(r, p), admin.SecretSpec{
		Description: req.Description, Group: req.Group, TTL: time.Duration(req.TTLSeconds) * time.Second, MaxUses: req.MaxUses})
	if err != nil {
		return err
	}
	out := admin.SecretView(e)
	out.Value = value
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	e, err := a.Admin.RevokeEnrollmentSecret(r.Context(), httpActor(r, p), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, admin.SecretView(e))
}

// setDeviceGroup moves a device to another group ({"group": ""} for
// none): audited, and told to the device's agent, whose group overrides
// then apply.
func (a *API) setDeviceGroup(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Group string `json:"group"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return &httpError{http.StatusBadRequest, `request body: want {"group": "NAME"} ("" for none): ` + err.Error()}
	}
	d, err := a.Admin.SetDeviceGroup(r.Context(), httpActor(r, p), r.PathValue("id"), req.Group)
	if err != nil {
		return err
	}
	out, err := a.Admin.Device(r.Context(), d.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// revokeDevice cuts a device off: its stream ends at once on every
// replica and it may neither connect nor renew its certificate again.
func (a *API) revokeDevice(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := a.Admin.RevokeDevice(r.Context(), httpActor(r, p), r.PathValue("id"))
	if err != nil {
		return err
	}
	out, err := a.Admin.Device(r.Context(), d.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
