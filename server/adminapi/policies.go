package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/auth"
	"github.com/vcguard/vcguard/server/metrics"
)

// PublishRequest is the JSON body of POST /api/v1/policies (sent as
// application/json): the policy document (YAML or JSON, as text) and the
// required change comment. Any other content type is the document itself,
// with the comment in the query parameter comment.
type PublishRequest struct {
	Document string `json:"document"`
	Comment  string `json:"comment"`
}

// RollbackRequest is the JSON body of POST /api/v1/policies/{version}/rollback;
// without a body the comment comes from the query parameter comment.
type RollbackRequest struct {
	Comment string `json:"comment"`
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	storeDone := a.Admin.Metrics.StoreTimer(metrics.OpListPolicies)
	ps, err := a.Admin.Policies(r.Context())
	storeDone()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ps)
}

// getPolicy answers one version with its document and rollout counts
// (applied, total, on_version).
func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	p, err := a.policyVersionParam(r, "version")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// isJSON reports whether the request body is declared application/json.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// decodeStrict decodes a JSON request body into v, refusing unknown fields
// and trailing data; want says what the body must be.
func decodeStrict(body []byte, want string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("more after the JSON value")
		}
	}
	if err != nil {
		return &httpError{http.StatusBadRequest, fmt.Sprintf("request body: %v (%s)", err, want)}
	}
	return nil
}

// publishPolicy publishes a document with its change comment: 201 with
// the version, 400 naming line and field (or the missing comment), 409 for
// a document identical to the version in force.
func (a *API) publishPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	limit := int64(admin.MaxPolicySize)
	if isJSON(r) {
		// The envelope escapes the document (a tab or quote takes two
		// bytes) and adds the comment.
		limit = 2*admin.MaxPolicySize + 6*admin.MaxPolicyComment + 1024
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, "policy document too large or unreadable"}
	}
	req, err := parsePublishRequest(isJSON(r), r.URL.Query().Get("comment"), body)
	if err != nil {
		return err
	}
	v, err := a.Admin.PublishPolicy(r.Context(), httpActor(r, p), []byte(req.Document), req.Comment)
	if err != nil {
		return policyChangeError(err)
	}
	return writeJSON(w, http.StatusCreated, admin.PolicyView(v, true))
}

// parsePublishRequest reads a publish request's body: the JSON envelope
// (asJSON), or the document itself with the comment of the query.
func parsePublishRequest(asJSON bool, queryComment string, body []byte) (PublishRequest, error) {
	if !asJSON {
		return PublishRequest{Document: string(body), Comment: queryComment}, nil
	}
	var req PublishRequest
	err := decodeStrict(body, `as application/json it is {"document": "...", "comment": "..."}; send a bare policy document as application/yaml with ?comment=`, &req)
	return req, err
}

// policyChangeError answers a refused no-op change with 409.
func policyChangeError(err error) error {
	if errors.Is(err, admin.ErrUnchanged) {
		return &httpError{http.StatusConflict, err.Error()}
	}
	return err
}

// policyVersionParam reads the {version} path value (or, for another
// name, that query parameter): a number or "current".
func (a *API) policyVersionParam(r *http.Request, name string) (apitypes.Policy, error) {
	v := r.PathValue(name)
	if name != "version" {
		v = r.URL.Query().Get(name)
	}
	if v == "current" {
		return a.Admin.CurrentPolicy(r.Context())
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return apitypes.Policy{}, &httpError{http.StatusBadRequest, fmt.Sprintf("%s %q: want a policy version number or 'current'", name, v)}
	}
	return a.Admin.Policy(r.Context(), n)
}

// validatePolicy checks a document as publishing would, without publishing
// it: 200 with its name, or 400 naming line and field.
func (a *API) validatePolicy(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	doc, err := io.ReadAll(http.MaxBytesReader(w, r.Body, admin.MaxPolicySize))
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, "policy document too large or unreadable"}
	}
	p, err := a.Admin.ValidatePolicy(doc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"name": p.Name})
}

// diffPolicy compares version {version} with ?against= (default: the
// version before it).
func (a *API) diffPolicy(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	to, err := a.policyVersionParam(r, "version")
	if err != nil {
		return err
	}
	var from apitypes.Policy
	if r.URL.Query().Get("against") != "" {
		if from, err = a.policyVersionParam(r, "against"); err != nil {
			return err
		}
	} else if to.Version > 1 {
		if from, err = a.Admin.Policy(r.Context(), to.Version-1); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, apitypes.PolicyDiff{From: from.Version, To: to.Version, Diff: admin.PolicyDiff(from, to)})
}

// rollbackPolicy publishes the document of an earlier version again, as a
// new version: agents refuse older version numbers, so going back is going
// forward with old content. 409 when that content is the one in force.
func (a *API) rollbackPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	old, err := a.policyVersionParam(r, "version")
	if err != nil {
		return err
	}
	// JSON may escape every byte of the comment as \u00XX.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 6*admin.MaxPolicyComment+1024))
	if err != nil {
		return &httpError{http.StatusRequestEntityTooLarge, "rollback request too large or unreadable"}
	}
	req := RollbackRequest{Comment: r.URL.Query().Get("comment")}
	if len(body) > 0 {
		if err := decodeStrict(body, `want {"comment": "..."}`, &req); err != nil {
			return err
		}
	}
	v, err := a.Admin.RollbackPolicy(r.Context(), httpActor(r, p), old.Version, req.Comment)
	if err != nil {
		return policyChangeError(err)
	}
	return writeJSON(w, http.StatusCreated, admin.PolicyView(v, true))
}
