package adminapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/metrics"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/encoding/protojson"
)

// Route is one JSON API route.
type Route struct {
	// Pattern is the http.ServeMux pattern, e.g. "GET /api/v1/devices/{id}".
	Pattern string
	// Roles may call the route; a token of another role gets 403.
	Roles  []store.Role
	handle handlerFunc
}

// Routes lists every JSON API route; Register adds exactly these, so a test
// that walks the list covers every route.
func (a *API) Routes() []Route {
	read := []store.Role{store.RoleAdmin, store.RoleAnalyst}
	write := []store.Role{store.RoleAdmin}
	audit := []store.Role{store.RoleAdmin, store.RoleAuditor}
	return []Route{
		{"GET /api/v1/devices", read, a.listDevices},
		{"GET /api/v1/devices/{id}", read, a.getDevice},
		{"GET /api/v1/events", read, a.listEvents},
		{"GET /api/v1/policies", read, a.listPolicies},
		{"GET /api/v1/policies/{version}", read, a.getPolicy},
		{"POST /api/v1/policies", write, a.publishPolicy},
		{"POST /api/v1/policies/validate", write, a.validatePolicy},
		{"GET /api/v1/policies/{version}/diff", read, a.diffPolicy},
		{"POST /api/v1/policies/{version}/rollback", write, a.rollbackPolicy},
		{"GET /api/v1/enrollment-secrets", write, a.listSecrets},
		{"POST /api/v1/enrollment-secrets", write, a.createSecret},
		{"POST /api/v1/enrollment-secrets/{id}/revoke", write, a.revokeSecret},
		{"POST /api/v1/devices/{id}/revoke", write, a.revokeDevice},
		{"GET /api/v1/audit", audit, a.listAudit},
		{"GET /api/v1/tokens", write, a.listTokens},
		{"POST /api/v1/tokens", write, a.createToken},
		{"POST /api/v1/tokens/{id}/revoke", write, a.revokeToken},
		{"GET /api/v1/admins", write, a.listAdmins},
		{"POST /api/v1/admins", write, a.createAdmin},
		{"POST /api/v1/admins/{username}/disable", write, a.disableAdmin},
		{"POST /api/v1/admins/{username}/enable", write, a.enableAdmin},
		{"POST /api/v1/admins/{username}/password", write, a.resetAdminPassword},
	}
}

// Register adds the JSON API routes (under /api/v1/) to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, r := range a.Routes() {
		mux.Handle(r.Pattern, a.authed(r.Roles, r.handle))
	}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// httpError is an error with the status to answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func (a *API) authed(roles []store.Role, h handlerFunc) http.Handler {
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
			case errors.Is(err, ErrInvalid):
				writeError(w, http.StatusBadRequest, err.Error())
			case errors.Is(err, store.ErrNotFound):
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

// DeviceJSON is a device in the JSON API.
type DeviceJSON struct {
	ID            string    `json:"id"`
	Hostname      string    `json:"hostname"`
	OS            string    `json:"os"`
	OSVersion     string    `json:"os_version"`
	Arch          string    `json:"arch"`
	AgentVersion  string    `json:"agent_version"`
	Enrolled      time.Time `json:"enrolled"`
	LastSeen      time.Time `json:"last_seen"`
	Online        bool      `json:"online"`
	PolicyVersion uint64    `json:"policy_version"`
	// Group is the device group from the enrollment secret; "" for none.
	Group string `json:"group"`
	// Revoked is when the device was revoked; absent while it is not.
	Revoked *time.Time `json:"revoked,omitempty"`
	// Apps are its app instances, running first: at most 500
	// (apps_truncated says some were left out, apps_total counts all).
	Apps []AppJSON `json:"apps"`
	// Media are the cameras and microphones in use now: at most 100.
	Media          []MediaJSON `json:"media"`
	AppsTotal      int         `json:"apps_total"`
	AppsTruncated  bool        `json:"apps_truncated"`
	MediaTotal     int         `json:"media_total"`
	MediaTruncated bool        `json:"media_truncated"`
	// EventsStored counts the device's stored events (set by
	// GET /api/v1/devices/{id}).
	EventsStored int64 `json:"events_stored"`
}

// MediaJSON is a camera or microphone in use, in the JSON API.
type MediaJSON struct {
	Kind     string    `json:"kind"` // camera or microphone
	PID      int32     `json:"pid"`
	Process  string    `json:"process"`
	AppID    string    `json:"app_id"` // "" for a process of no catalog app
	Category string    `json:"category,omitempty"`
	Device   string    `json:"device"`
	Source   string    `json:"source"`
	Session  string    `json:"session,omitempty"`
	Since    time.Time `json:"since"`
}

// AppJSON is an app instance in the JSON API.
type AppJSON struct {
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	PID     int32  `json:"pid"`
	Running bool   `json:"running"`
	Verdict string `json:"verdict"`
	Exe     string `json:"exe"`
	// Version is "unknown" when the agent could not read it.
	Version  string     `json:"version"`
	Verified bool       `json:"verified"`
	Identity string     `json:"identity"`
	Started  time.Time  `json:"started"`
	Stopped  *time.Time `json:"stopped,omitempty"`
}

// DeviceView converts a stored device for the JSON API and the dashboard.
func (a *API) DeviceView(d store.Device) DeviceJSON {
	out := DeviceJSON{
		ID: d.ID, Hostname: d.Hostname, OS: d.OS, OSVersion: d.OSVersion, Arch: d.Arch, AgentVersion: d.AgentVersion,
		Enrolled: d.Enrolled, LastSeen: d.LastSeen, Online: d.Online(a.now(), a.staleAfter()),
		PolicyVersion: d.PolicyVersion, Group: d.Group, Apps: []AppJSON{}, Media: []MediaJSON{},
		AppsTotal: d.AppsTotal, AppsTruncated: d.AppsTruncated(), MediaTotal: d.MediaTotal, MediaTruncated: d.MediaTruncated(),
	}
	if !d.Revoked.IsZero() {
		revoked := d.Revoked
		out.Revoked = &revoked
	}
	for _, m := range d.Media {
		out.Media = append(out.Media, MediaJSON{Kind: m.Kind, PID: m.PID, Process: m.Process, AppID: m.AppID, Category: m.Category,
			Device: m.Device, Source: m.Source, Session: m.Session, Since: m.Since})
	}
	for _, app := range d.Apps {
		j := AppJSON{AppID: app.AppID, Name: app.Name, PID: app.PID, Running: app.Running, Verdict: app.Verdict,
			Exe: app.Exe, Version: cmp.Or(app.Version, "unknown"), Verified: app.Verified, Identity: app.Identity, Started: app.Started}
		if !app.Stopped.IsZero() {
			stopped := app.Stopped
			j.Stopped = &stopped
		}
		out.Apps = append(out.Apps, j)
	}
	return out
}

// listDevices answers one page of devices (see DeviceQueryFrom), as
// summaries without their app and media rows.
func (a *API) listDevices(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Metrics.StoreTimer(metrics.OpListDevices)
	defer storeDone()
	return a.listDevicesPage(w, r)
}

// DeviceDetail loads one device (apps and media capped) with its count of
// stored events.
func (a *API) DeviceDetail(ctx context.Context, id string) (DeviceJSON, error) {
	d, err := a.Store.Device(ctx, id)
	if err != nil {
		return DeviceJSON{}, err
	}
	out := a.DeviceView(d)
	if out.EventsStored, err = a.Store.EventCount(ctx, id); err != nil {
		return out, err
	}
	return out, nil
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Metrics.StoreTimer(metrics.OpGetDevice)
	d, err := a.DeviceDetail(r.Context(), r.PathValue("id"))
	storeDone()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// EventJSON is an event in the JSON API.
type EventJSON struct {
	Type     string          `json:"type"`
	DeviceID string          `json:"device_id"`
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	Received time.Time       `json:"received"`
	PID      int32           `json:"pid,omitempty"`
	Process  string          `json:"process,omitempty"`
	AppID    string          `json:"app_id,omitempty"`
	Detail   json.RawMessage `json:"detail"`
	// DetailTruncated is set when the detail was larger than
	// MaxEventDetailBytes and is left out (null).
	DetailTruncated bool `json:"detail_truncated,omitempty"`
}

// EventView converts a stored event.
func EventView(e store.StoredEvent) EventJSON {
	out := EventJSON{Type: e.Type, DeviceID: e.DeviceID, Seq: e.Seq, Time: e.Time, Received: e.Received}
	app := e.Event.GetApp().GetApp()
	if app == nil {
		app = e.Event.GetEnforcement().GetApp()
	}
	if app != nil {
		out.PID, out.Process, out.AppID = app.GetPid(), path.Base(app.GetExe()), app.GetAppId()
	}
	if n := e.Event.GetUserNotified(); n != nil {
		out.AppID = n.GetAppId()
	}
	use := e.Event.GetMedia().GetUse()
	if use == nil {
		use = e.Event.GetMediaFinding().GetUse()
	}
	if use != nil {
		out.PID, out.Process, out.AppID = use.GetPid(), path.Base(use.GetProcess()), use.GetAppId()
		if use.GetProcess() == "" {
			out.Process = ""
		}
	}
	detail, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(e.Event)
	if err != nil {
		detail = []byte("null")
	}
	if len(detail) > MaxEventDetailBytes {
		detail, out.DetailTruncated = []byte("null"), true
	}
	out.Detail = detail
	return out
}

// listEvents answers one page of events, newest first (see
// EventFilterFrom), capped in rows and bytes.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Metrics.StoreTimer(metrics.OpListEvents)
	defer storeDone()
	return a.listEventsPage(w, r)
}

// PolicyJSON is a policy version in the JSON API.
type PolicyJSON struct {
	Version     uint64    `json:"version"`
	Name        string    `json:"name"`
	Published   time.Time `json:"published"`
	PublishedBy string    `json:"published_by"`
	Document    string    `json:"document,omitempty"`
}

func policyView(p store.PolicyVersion, withDocument bool) PolicyJSON {
	out := PolicyJSON{Version: p.Version, Name: p.Name, Published: p.Published, PublishedBy: p.PublishedBy}
	if withDocument {
		out.Document = string(p.Document)
	}
	return out
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Metrics.StoreTimer(metrics.OpListPolicies)
	ps, err := a.Store.Policies(r.Context())
	storeDone()
	if err != nil {
		return err
	}
	out := make([]PolicyJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, policyView(p, false))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var p store.PolicyVersion
	var err error
	if v := r.PathValue("version"); v == "current" {
		p, err = a.Store.CurrentPolicy(r.Context())
	} else {
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			return &httpError{http.StatusBadRequest, "policy version must be a number or 'current'"}
		}
		p, err = a.Store.Policy(r.Context(), n)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, policyView(p, true))
}

func (a *API) publishPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicySize))
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, "policy document too large or unreadable"}
	}
	v, err := a.PublishPolicy(r.Context(), doc, p.Subject)
	if err != nil {
		return err
	}
	a.Audit(r.Context(), httpActor(r, p), "policy_publish", fmt.Sprintf("policy:%d", v.Version), map[string]any{"name": v.Name})
	return writeJSON(w, http.StatusCreated, policyView(v, true))
}

// policyVersionParam reads the {version} path value: a number or "current".
func (a *API) policyVersionParam(r *http.Request, name string) (store.PolicyVersion, error) {
	v := r.PathValue(name)
	if name != "version" {
		v = r.URL.Query().Get(name)
	}
	if v == "current" {
		return a.Store.CurrentPolicy(r.Context())
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return store.PolicyVersion{}, &httpError{http.StatusBadRequest, fmt.Sprintf("%s %q: want a policy version number or 'current'", name, v)}
	}
	return a.Store.Policy(r.Context(), n)
}

// validatePolicy checks a document as publishing would, without publishing
// it: 200 with its name, or 400 naming line and field.
func (a *API) validatePolicy(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicySize))
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, "policy document too large or unreadable"}
	}
	p, err := policies.ParsePolicy("policy", doc, a.Catalog)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"name": p.Name})
}

// PolicyDiffJSON is a unified diff between two policy versions.
type PolicyDiffJSON struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	Diff string `json:"diff"`
}

// diffPolicy compares version {version} with ?against= (default: the
// version before it).
func (a *API) diffPolicy(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	to, err := a.policyVersionParam(r, "version")
	if err != nil {
		return err
	}
	var from store.PolicyVersion
	if r.URL.Query().Get("against") != "" {
		if from, err = a.policyVersionParam(r, "against"); err != nil {
			return err
		}
	} else if to.Version > 1 {
		if from, err = a.Store.Policy(r.Context(), to.Version-1); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, PolicyDiffJSON{From: from.Version, To: to.Version, Diff: PolicyDiff(from, to)})
}

// PolicyDiff is the unified diff of two policy documents, labelled with
// their versions.
func PolicyDiff(from, to store.PolicyVersion) string {
	label := func(p store.PolicyVersion) string {
		if p.Version == 0 {
			return "no policy"
		}
		return fmt.Sprintf("version %d (%s)", p.Version, p.Name)
	}
	return udiff.Unified(label(from), label(to), string(from.Document), string(to.Document))
}

// rollbackPolicy publishes the document of an earlier version again, as a
// new version: agents refuse older version numbers, so going back is going
// forward with old content.
func (a *API) rollbackPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	old, err := a.policyVersionParam(r, "version")
	if err != nil {
		return err
	}
	v, err := a.PublishPolicy(r.Context(), old.Document, fmt.Sprintf("%s (rollback to version %d)", p.Subject, old.Version))
	if err != nil {
		return err
	}
	a.Audit(r.Context(), httpActor(r, p), "policy_rollback", fmt.Sprintf("policy:%d", v.Version),
		map[string]any{"name": v.Name, "content_of_version": old.Version})
	return writeJSON(w, http.StatusCreated, policyView(v, true))
}

// SecretJSON is an enrollment secret in the JSON API (never its value,
// except once on creation).
type SecretJSON struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	Created     time.Time  `json:"created"`
	Expires     *time.Time `json:"expires,omitempty"`
	Revoked     *time.Time `json:"revoked,omitempty"`
	// Group is the device group of the devices it enrolls; "" for none.
	Group string `json:"group"`
	Value string `json:"value,omitempty"`
}

func secretView(e store.EnrollmentSecret) SecretJSON {
	out := SecretJSON{ID: e.ID, Description: e.Description, Created: e.Created, Group: e.Group}
	if !e.Expires.IsZero() {
		out.Expires = &e.Expires
	}
	if !e.Revoked.IsZero() {
		out.Revoked = &e.Revoked
	}
	return out
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	secrets, err := a.Store.EnrollmentSecrets(r.Context())
	if err != nil {
		return err
	}
	out := make([]SecretJSON, 0, len(secrets))
	for _, e := range secrets {
		out = append(out, secretView(e))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) createSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req struct {
		Description string `json:"description"`
		TTLSeconds  int64  `json:"ttl_seconds"`
		Group       string `json:"group"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return &httpError{http.StatusBadRequest, "request body: " + err.Error()}
	}
	e, value, err := a.CreateGroupEnrollmentSecret(r.Context(), req.Description, req.Group, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		return err
	}
	a.Audit(r.Context(), httpActor(r, p), "enrollment_secret_create", "enrollment_secret:"+e.ID,
		map[string]any{"description": e.Description, "group": e.Group, "expires": optTime(e.Expires)})
	out := secretView(e)
	out.Value = value
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeSecret(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	e, err := a.Store.RevokeEnrollmentSecret(r.Context(), r.PathValue("id"), a.now())
	if err != nil {
		return err
	}
	a.Audit(r.Context(), httpActor(r, p), "enrollment_secret_revoke", "enrollment_secret:"+e.ID, nil)
	return writeJSON(w, http.StatusOK, secretView(e))
}

// revokeDevice cuts a device off: its stream ends at once on every
// replica and it may neither connect nor renew its certificate again.
func (a *API) revokeDevice(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := a.RevokeDevice(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.Audit(r.Context(), httpActor(r, p), "device_revoke", "device:"+d.ID, map[string]any{"hostname": d.Hostname})
	out, err := a.DeviceDetail(r.Context(), d.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
