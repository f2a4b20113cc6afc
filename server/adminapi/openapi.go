package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/server/adminapi/apitypes"
)

// OpenAPIPath is where the server serves the JSON API's OpenAPI 3.1
// description, without a token (it describes routes, never data).
const OpenAPIPath = "/api/v1/openapi.json"

// routeDoc describes one route for the OpenAPI description. The response
// and request shapes are the Go types the handlers encode and decode; the
// schemas are made from them by reflection, so a field added to an API
// type is in the description at once, and a route added to Routes without
// its routeDoc fails TestOpenAPICoversEveryRoute.
type routeDoc struct {
	summary string
	query   []queryParam
	// body is the request body: a Go value for JSON, bodyPolicy for a
	// policy document, bodyAny for any JSON; nil for none.
	body any
	// status and response are the success answer: the Go value encoded
	// (a zero value of its type); nil for none.
	status   int
	response any
}

type queryParam struct {
	name, typ, description string
}

// Marker request bodies that are not a Go type.
type (
	bodyPolicyDoc struct{}
	bodyAnyJSON   struct{}
)

var (
	bodyPolicy = bodyPolicyDoc{}
	bodyAny    = bodyAnyJSON{}
)

func q(name, typ, description string) queryParam { return queryParam{name, typ, description} }

var pageParams = []queryParam{
	q("limit", "integer", "at most this many items (default 100, at most 1,000)"),
	q("cursor", "string", "the next_cursor of the page before"),
}

// routeDocs describes every route of Routes, by pattern.
var routeDocs = map[string]routeDoc{
	"GET /api/v1/devices": {summary: "One page of devices, by hostname", status: 200, response: apitypes.DevicePage{},
		query: append([]queryParam{q("q", "string", "hostname contains"), q("os", "string", "operating system"),
			q("group", "string", "device group"), q("verdict", "string", "running an app judged this"),
			q("app", "string", "running this catalog app"), q("status", "string", "online, offline or stale"),
			q("seen", "string", "within-N or over-N, N in hours (24h) or days (7d)"),
			q("sort", "string", "hostname, os, group, last_seen, verdict or policy; a leading - for descending")}, pageParams...)},
	"GET /api/v1/devices/{id}":         {summary: "One device with its apps and camera/microphone use", status: 200, response: apitypes.Device{}},
	"POST /api/v1/devices/{id}/revoke": {summary: "Revoke a device: its stream ends at once and it may not connect again", status: 200, response: apitypes.Device{}},
	"POST /api/v1/devices/{id}/group": {summary: "Move a device to another group (\"\" for none); its agent is told and applies the group's overrides", status: 200, response: apitypes.Device{},
		body: struct {
			Group string `json:"group"`
		}{}},
	"GET /api/v1/events": {summary: "One page of events, newest first", status: 200, response: apitypes.EventPage{},
		query: append([]queryParam{q("device", "string", "device id"), q("type", "string", "event type")}, pageParams...)},
	"GET /api/v1/connections": {summary: "Per meeting app, the servers and accounts its devices are set up for", status: 200,
		response: map[string][]apitypes.AppConnections{}},
	"GET /api/v1/browser-meetings": {summary: "Calls held in a browser since a time", status: 200, response: apitypes.BrowserMeetings{},
		query: []queryParam{q("since", "string", "RFC 3339 time (default: 14 days ago)")}},
	"GET /api/v1/policies":                {summary: "Policy history", status: 200, response: []apitypes.Policy{}},
	"GET /api/v1/policies/{version}":      {summary: "One policy version (a number, or current) with its document", status: 200, response: apitypes.Policy{}},
	"POST /api/v1/policies":               {summary: "Publish a policy (YAML or JSON document)", body: bodyPolicy, status: 201, response: apitypes.Policy{}},
	"POST /api/v1/policies/validate":      {summary: "Check a policy as publishing would, without publishing", body: bodyPolicy, status: 200, response: map[string]string{}},
	"GET /api/v1/policies/{version}/diff": {summary: "Unified diff against another version", status: 200, response: apitypes.PolicyDiff{}, query: []queryParam{q("against", "integer", "the version to compare with (default: the one before)")}},
	"POST /api/v1/policies/{version}/rollback": {summary: "Publish an earlier version's document again (a change comment is required)", status: 201, response: apitypes.Policy{},
		query: []queryParam{q("comment", "string", "the change comment, unless the body is JSON {comment}")}},
	"GET /api/v1/catalogs":           {summary: "Catalog versions, newest first", status: 200, response: []apitypes.Catalog{}},
	"POST /api/v1/catalogs":          {summary: "Publish a signed catalog bundle (the canonical JSON vcguardctl catalog publish sends)", body: bodyAny, status: 201, response: apitypes.Catalog{}},
	"GET /api/v1/enrollment-secrets": {summary: "Enrollment secrets (never their values)", status: 200, response: []apitypes.Secret{}},
	"POST /api/v1/enrollment-secrets": {summary: "Create an enrollment secret; its value is answered once", status: 201, response: apitypes.Secret{},
		body: struct {
			Description string `json:"description"`
			TTLSeconds  int64  `json:"ttl_seconds,omitempty"`
			Group       string `json:"group,omitempty"`
			MaxUses     int64  `json:"max_uses,omitempty"`
		}{}},
	"POST /api/v1/enrollment-secrets/{id}/revoke": {summary: "Revoke an enrollment secret", status: 200, response: apitypes.Secret{}},
	"GET /api/v1/audit":                           {summary: "One page of the audit log, newest first", status: 200, response: apitypes.AuditPage{}, query: append([]queryParam{q("actor", "string", "only this actor"), q("action", "string", "only this action"), q("before", "integer", "alias of cursor")}, pageParams...)},
	"GET /api/v1/tokens":                          {summary: "API tokens (never their values)", status: 200, response: []apitypes.Token{}},
	"POST /api/v1/tokens": {summary: "Create an API token (a role up to the caller's, expiring); its value is answered once", status: 201, response: apitypes.Token{},
		body: struct {
			Description string `json:"description,omitempty"`
			Role        string `json:"role,omitempty"`
			TTLSeconds  int64  `json:"ttl_seconds,omitempty"`
		}{}},
	"POST /api/v1/tokens/{id}/revoke": {summary: "Revoke an API token", status: 200, response: apitypes.Token{}},
	"GET /api/v1/admins":              {summary: "Dashboard accounts", status: 200, response: []apitypes.Admin{}},
	"POST /api/v1/admins": {summary: "Invite a dashboard account: the answer carries a one-time invite link", status: 201, response: apitypes.Admin{},
		body: struct {
			Username string `json:"username"`
			Role     string `json:"role,omitempty"`
		}{}},
	"POST /api/v1/admins/{username}/disable": {summary: "Disable an account (ends its sessions)", status: 200, response: apitypes.Admin{}},
	"POST /api/v1/admins/{username}/enable":  {summary: "Enable an account", status: 200, response: apitypes.Admin{}},
	"POST /api/v1/admins/{username}/invite":  {summary: "Reset an account by a new one-time invite link (clears its password and authenticator, ends its sessions)", status: 200, response: apitypes.Admin{}},
}

var pathParam = regexp.MustCompile(`\{([^}$]+)\}`)

// OpenAPI returns the OpenAPI 3.1 description of the routes, as JSON. A
// route of Routes without a description is an error.
func (a *API) OpenAPI() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, r := range a.Routes() {
		doc, ok := routeDocs[r.Pattern]
		if !ok {
			return nil, fmt.Errorf("openapi: route %s has no description (routeDocs)", r.Pattern)
		}
		method, path, _ := strings.Cut(r.Pattern, " ")
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range doc.query {
			params = append(params, map[string]any{"name": p.name, "in": "query", "description": p.description, "schema": map[string]any{"type": p.typ}})
		}
		roles := make([]string, 0, len(r.Roles))
		for _, role := range r.Roles {
			roles = append(roles, string(role))
		}
		op := map[string]any{
			"summary":     doc.summary,
			"operationId": operationID(r.Pattern),
			"description": "Roles: " + strings.Join(roles, ", ") + ".",
			"responses": map[string]any{
				"400": errorResponse("a bad parameter or body, named in the message"),
				"401": errorResponse("no valid token"),
				"403": errorResponse("the token's role may not do this"),
				"404": errorResponse("no such item"),
				"409": errorResponse("a conflict with the current state, named in the message"),
			},
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if doc.response != nil {
			op["responses"].(map[string]any)[fmt.Sprint(doc.status)] = map[string]any{
				"description": "success",
				"content":     map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(doc.response))}},
			}
		}
		switch doc.body {
		case nil:
		case bodyPolicy:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/yaml": map[string]any{"schema": map[string]any{"type": "string"}},
				"application/json": map[string]any{"schema": map[string]any{"type": "object"}},
			}}
			if r.Pattern == "POST /api/v1/policies" {
				op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"] = map[string]any{"schema": g.schema(reflect.TypeOf(PublishRequest{}))}
			}
		case bodyAny:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		default:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(doc.body))}}}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = op
	}
	g.defs["Error"] = map[string]any{"type": "object", "required": []string{"error"}, "additionalProperties": false,
		"properties": map[string]any{"error": map[string]any{"type": "string"}}}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "vcguard JSON API",
			"version":     "v1",
			"description": "The vcguard server's administration API. Every route needs Authorization: Bearer <API token>.",
		},
		"paths":      paths,
		"security":   []any{map[string]any{"token": []string{}}},
		"components": map[string]any{"schemas": g.defs, "securitySchemes": map[string]any{"token": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func errorResponse(description string) map[string]any {
	return map[string]any{"description": description, "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
}

// operationID names a route for generated clients: "GET
// /api/v1/devices/{id}" is getDevicesId.
func operationID(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	id := strings.ToLower(method)
	for _, part := range strings.FieldsFunc(strings.TrimPrefix(path, "/api/v1/"), func(r rune) bool { return r == '/' || r == '-' || r == '{' || r == '}' }) {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return id
}

// schemaGen makes JSON Schemas (OpenAPI 3.1 dialect) of Go types as
// encoding/json encodes them; named structs become components.
type schemaGen struct{ defs map[string]any }

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{} // any JSON
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		// A nil slice encodes as null.
		return map[string]any{"type": []string{"array", "null"}, "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // a placeholder while its fields are made (recursive types)
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("openapi: no schema for %s", t))
}

// object is a struct's schema: its JSON fields (embedded structs' fields
// inline), the ones without omitempty required, no others allowed.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	slices.Sort(required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

// serveOpenAPI answers the description.
func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := a.OpenAPI()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(doc)
}
