package adminapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/adminapi"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The description covers exactly the routes Register adds, is a valid
// OpenAPI 3.1 document, and is served without a token.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.do(t, "GET", adminapi.OpenAPIPath, "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s", adminapi.OpenAPIPath, resp.StatusCode, body)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, r := range e.api.Routes() {
		if !described[r.Pattern] {
			t.Errorf("route %s is not in the OpenAPI description", r.Pattern)
		}
		delete(described, r.Pattern)
	}
	for p := range described {
		t.Errorf("the OpenAPI description has %s, which is no route", p)
	}

	d, err := libopenapi.NewDocument(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.BuildV3Model(); err != nil {
		t.Fatalf("the description does not build as OpenAPI 3: %v", err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, ve := range verrs {
			t.Errorf("description invalid: %s: %s", ve.Message, ve.Reason)
		}
	}
}

// Real answers of every read route, and of the changes, match the
// description (its schemas allow no property they do not name), so a field
// added to an answer without the description changing fails here.
func TestAPIAnswersMatchOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := e.store.CreateDevice(ctx, store.Device{ID: "dev-1", Hostname: "laptop-1", OS: "linux", Enrolled: now, Group: "radiology"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeviceConnected(ctx, "dev-1", &vcguardv1.DeviceInfo{Hostname: "laptop-1", Os: "linux"}, now); err != nil {
		t.Fatal(err)
	}
	app := &vcguardv1.AppInstance{AppId: "zoom", Name: "Zoom Workplace", Pid: 42, Started: timestamppb.New(now),
		Exe: "/opt/zoom/zoom", Verdict: vcguardv1.Verdict_VERDICT_RESTRICTED}
	if _, err := e.store.IngestEvents(ctx, "dev-1", []*vcguardv1.Event{
		{Seq: 1, Time: timestamppb.New(now), Detail: &vcguardv1.Event_App{App: &vcguardv1.AppEvent{Kind: vcguardv1.AppEvent_KIND_STARTED, App: app}}},
		{Seq: 2, Time: timestamppb.New(now), Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: 1}}},
		{Seq: 3, Time: timestamppb.New(now), Detail: &vcguardv1.Event_Media{Media: &vcguardv1.MediaEvent{On: true, Use: &vcguardv1.MediaUse{Kind: "camera", Pid: 42, Process: "zoom", AppId: "zoom"}}}},
	}, now); err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(mustGet(t, e, adminapi.OpenAPIPath))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	admin := e.tokens[store.RoleAdmin]
	check := func(method, path, contentType string, body []byte, wantStatus int) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+admin)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus {
			t.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, got, wantStatus)
			return got
		}
		// The validator reads both bodies again.
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.URL.Host, req.URL.Scheme = "", ""
		resp.Body = io.NopCloser(bytes.NewReader(got))
		if ok, verrs := v.ValidateHttpRequestResponse(req, resp); !ok {
			for _, ve := range verrs {
				t.Errorf("%s %s: %s: %s %v", method, path, ve.Message, ve.Reason, schemaErrors(ve.SchemaValidationErrors))
			}
		}
		return got
	}
	for _, path := range []string{
		"/api/v1/devices", "/api/v1/devices?os=linux&limit=5", "/api/v1/devices/dev-1", "/api/v1/events", "/api/v1/events?type=app_started&device=dev-1",
		"/api/v1/connections", "/api/v1/browser-meetings", "/api/v1/policies", "/api/v1/policies/1", "/api/v1/policies/current",
		"/api/v1/catalogs", "/api/v1/enrollment-secrets", "/api/v1/audit", "/api/v1/tokens", "/api/v1/admins",
	} {
		check("GET", path, "", nil, http.StatusOK)
	}
	policy := []byte("name: Open\ndefault: approved\n")
	check("POST", "/api/v1/policies/validate", "application/yaml", policy, http.StatusOK)
	check("POST", "/api/v1/policies?comment=openapi", "application/yaml", policy, http.StatusCreated)
	check("POST", "/api/v1/policies", "application/json", []byte(`{"document": "name: Open\ndefault: forbidden\n", "comment": "openapi json"}`), http.StatusCreated)
	check("POST", "/api/v1/policies?comment=again", "application/yaml", []byte("name: Open\ndefault: forbidden\n"), http.StatusConflict)
	check("GET", "/api/v1/policies/2/diff", "", nil, http.StatusOK)
	check("POST", "/api/v1/policies/1/rollback?comment=back", "", nil, http.StatusCreated)
	var sec struct{ ID string }
	json.Unmarshal(check("POST", "/api/v1/enrollment-secrets", "application/json", []byte(`{"description": "openapi", "max_uses": 3}`), http.StatusCreated), &sec)
	check("POST", "/api/v1/enrollment-secrets/"+sec.ID+"/revoke", "", nil, http.StatusOK)
	var tok struct{ ID string }
	json.Unmarshal(check("POST", "/api/v1/tokens", "application/json", []byte(`{"description": "openapi", "role": "auditor"}`), http.StatusCreated), &tok)
	check("POST", "/api/v1/tokens/"+tok.ID+"/revoke", "", nil, http.StatusOK)
	check("POST", "/api/v1/admins", "application/json", []byte(`{"username": "oa", "role": "analyst"}`), http.StatusCreated)
	check("POST", "/api/v1/admins/oa/disable", "", nil, http.StatusOK)
	check("POST", "/api/v1/admins/oa/enable", "", nil, http.StatusOK)
	check("POST", "/api/v1/admins/oa/invite", "", nil, http.StatusOK)
	check("POST", "/api/v1/devices/dev-1/group", "application/json", []byte(`{"group": "cardiology"}`), http.StatusOK)
	check("POST", "/api/v1/devices/dev-1/group", "application/json", []byte(`{"group": "Not A Group"}`), http.StatusBadRequest)
	check("POST", "/api/v1/devices/dev-1/revoke", "", nil, http.StatusOK)
	check("GET", "/api/v1/events?type=bogus", "", nil, http.StatusBadRequest)
	check("GET", "/api/v1/devices/nope", "", nil, http.StatusNotFound)
}

func mustGet(t *testing.T, e *env, path string) []byte {
	t.Helper()
	resp, b := e.do(t, "GET", path, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return b
}

func schemaErrors[T any](errs []T) []string {
	var out []string
	for _, e := range errs {
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}
