package adminapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	adminsvc "github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/adminapi/apitypes"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// doJSON sends body as application/json.
func (e *env) doJSON(t *testing.T, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func errorOf(t *testing.T, b []byte) string {
	t.Helper()
	return decode[map[string]string](t, b)["error"]
}

// policyCount is how many versions are stored.
func policyCount(t *testing.T, e *env) int {
	t.Helper()
	ps, err := e.store.Policies(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(ps)
}

// Publishing (either body form) or rolling back to the document in force
// is refused with 409 naming the identical version: no version, no audit
// entry, nothing pushed to the agents.
func TestPolicyNoOpRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	sub := e.hub.Subscribe("dev-1")
	defer e.hub.Unsubscribe(sub)
	cur, err := e.store.CurrentPolicy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const want = "the document is identical to version 1, the version in force: nothing to publish"
	resp, b := e.do(t, "POST", "/api/v1/policies?comment=again", admin, cur.Document)
	if resp.StatusCode != http.StatusConflict || errorOf(t, b) != want {
		t.Errorf("raw body: %d %s", resp.StatusCode, b)
	}
	resp, b = e.doJSON(t, "/api/v1/policies", admin, map[string]string{"document": string(cur.Document), "comment": "again"})
	if resp.StatusCode != http.StatusConflict || errorOf(t, b) != want {
		t.Errorf("JSON body: %d %s", resp.StatusCode, b)
	}
	resp, b = e.doJSON(t, "/api/v1/policies/1/rollback", admin, map[string]string{"comment": "again"})
	if resp.StatusCode != http.StatusConflict || errorOf(t, b) != "roll back to version 1: "+want {
		t.Errorf("rollback to the version in force: %d %s", resp.StatusCode, b)
	}
	if n := policyCount(t, e); n != 1 {
		t.Errorf("%d versions after refused no-ops, want 1", n)
	}
	if log := auditActions(t, e, e.tokens[store.RoleAuditor]); len(log) != 0 {
		t.Errorf("refused no-ops audited: %+v", log)
	}
	select {
	case p := <-sub.C:
		t.Errorf("a refused no-op reached an agent stream: version %d", p.GetVersion())
	default:
	}
	// One byte more is a change; going back to version 1 then too.
	if resp, b := e.do(t, "POST", "/api/v1/policies?comment=trailing+newline", admin, append(cur.Document, '\n')); resp.StatusCode != http.StatusCreated {
		t.Fatalf("a changed document: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.do(t, "POST", "/api/v1/policies/1/rollback?comment=undo", admin, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("rollback to version 1 from version 2: %d %s", resp.StatusCode, b)
	}
	// Version 3 is version 1's document: rolling back to 1 again is a no-op.
	resp, b = e.do(t, "POST", "/api/v1/policies/1/rollback?comment=undo", admin, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(errorOf(t, b), "identical to version 3, the version in force") {
		t.Errorf("second rollback: %d %s", resp.StatusCode, b)
	}
}

// The change comment is required (raw and JSON bodies, rollback), bounded,
// stored as sent without surrounding white space, answered by the reads
// and recorded in the audit entry.
func TestPolicyChangeComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	doc := "name: Only Jitsi\ndefault: forbidden\napps:\n  jitsi-meet:\n    status: approved\n"
	for name, send := range map[string]func() (*http.Response, []byte){
		"raw, no comment": func() (*http.Response, []byte) { return e.do(t, "POST", "/api/v1/policies", admin, []byte(doc)) },
		"raw, blank comment": func() (*http.Response, []byte) {
			return e.do(t, "POST", "/api/v1/policies?comment=+%0A+", admin, []byte(doc))
		},
		"JSON, no comment": func() (*http.Response, []byte) {
			return e.doJSON(t, "/api/v1/policies", admin, map[string]string{"document": doc})
		},
		"rollback, no comment": func() (*http.Response, []byte) { return e.do(t, "POST", "/api/v1/policies/1/rollback", admin, nil) },
	} {
		resp, b := send()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(errorOf(t, b), "a change comment is required") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
	}
	long := strings.Repeat("x", adminsvc.MaxPolicyComment+1)
	if resp, b := e.doJSON(t, "/api/v1/policies", admin, map[string]string{"document": doc, "comment": long}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(errorOf(t, b), "change comment is 1001 bytes, at most 1000") {
		t.Errorf("long comment: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.doJSON(t, "/api/v1/policies", admin, map[string]string{"document": doc, "comment": "bell \a"}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(errorOf(t, b), "control characters") {
		t.Errorf("comment with a control character: %d %s", resp.StatusCode, b)
	}
	// A JSON policy sent as application/json is not the envelope: the
	// message says what the body must be.
	if resp, b := e.doJSON(t, "/api/v1/policies", admin, map[string]any{"name": "x", "apps": map[string]any{}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(errorOf(t, b), `request body: json: unknown field "apps"`) || !strings.Contains(errorOf(t, b), "as application/yaml with ?comment=") {
		t.Errorf("JSON policy as the envelope: %d %s", resp.StatusCode, b)
	}
	// A broken document is named before a missing comment.
	if resp, b := e.do(t, "POST", "/api/v1/policies", admin, []byte("name: x\ndefalt: y\n")); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(errorOf(t, b), "policy:2: field defalt") {
		t.Errorf("broken document without comment: %d %s", resp.StatusCode, b)
	}
	if n := policyCount(t, e); n != 1 {
		t.Fatalf("refused requests published: %d versions", n)
	}

	resp, b := e.doJSON(t, "/api/v1/policies", admin, map[string]string{"document": doc, "comment": "  only Jitsi: the Zoom contract ended\n"})
	if resp.StatusCode != http.StatusCreated || decode[apitypes.Policy](t, b).Comment != "only Jitsi: the Zoom contract ended" {
		t.Fatalf("publish with a comment: %d %s", resp.StatusCode, b)
	}
	resp, b = e.doJSON(t, "/api/v1/policies/1/rollback", admin, map[string]string{"comment": "Zoom is back"})
	if resp.StatusCode != http.StatusCreated || decode[apitypes.Policy](t, b).Comment != "Zoom is back" {
		t.Fatalf("rollback with a comment: %d %s", resp.StatusCode, b)
	}
	_, b = e.do(t, "GET", "/api/v1/policies", e.tokens[store.RoleAnalyst], nil)
	var comments []string
	for _, p := range decode[[]apitypes.Policy](t, b) {
		comments = append(comments, p.Comment)
	}
	if got := strings.Join(comments, "|"); got != "Zoom is back|only Jitsi: the Zoom contract ended|test setup" {
		t.Errorf("history comments %q", got)
	}
	_, b = e.do(t, "GET", "/api/v1/policies/2", admin, nil)
	if p := decode[apitypes.Policy](t, b); p.Comment != "only Jitsi: the Zoom contract ended" {
		t.Errorf("GET version 2: comment %q", p.Comment)
	}
	log := auditActions(t, e, e.tokens[store.RoleAuditor])
	if len(log) != 2 || log[0].Action != "policy_publish" || log[1].Action != "policy_rollback" {
		t.Fatalf("audit log %+v", log)
	}
	for i, want := range []string{"only Jitsi: the Zoom contract ended", "Zoom is back"} {
		if got := decode[map[string]any](t, log[i].Detail)["comment"]; got != want {
			t.Errorf("audit entry %s: comment %v, want %q", log[i].Action, got, want)
		}
	}
}

// applied records that a device's agent applied policy version v.
func applied(t *testing.T, e *env, id string, seq, v uint64) {
	t.Helper()
	ev := &vcguardv1.Event{Seq: seq, Time: timestamppb.Now(),
		Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: v}}}
	if _, err := e.store.IngestEvents(t.Context(), id, []*vcguardv1.Event{ev}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// GET /api/v1/policies/{v} (and the list and current) carry the rollout:
// applied counts the enrolled, not revoked devices on v or newer, total
// all enrolled, not revoked ones, on_version those exactly on v.
func TestPolicyRollout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens[store.RoleAdmin]
	if resp, b := e.do(t, "POST", "/api/v1/policies?comment=v2", admin, []byte("name: Only Jitsi\ndefault: forbidden\napps:\n  jitsi-meet:\n    status: approved\n")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, b)
	}
	existing, err := e.store.Devices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Six devices of our own: two never applied a policy, one on 1, two
	// on 2, and one on 2 that is then revoked.
	for i, v := range []uint64{0, 0, 1, 2, 2, 2} {
		id := "rollout-" + string(rune('a'+i))
		if err := e.store.CreateDevice(t.Context(), store.Device{ID: id, Hostname: id, OS: "linux", Enrolled: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if v > 0 {
			applied(t, e, id, 1, v)
		}
	}
	if _, err := e.te.Service.RevokeDevice(t.Context(), adminSystem(), "rollout-f"); err != nil {
		t.Fatal(err)
	}
	base := 0 // devices newEnv made, none of which applied a policy
	for _, d := range existing {
		if d.Revoked.IsZero() {
			base++
		}
		if d.PolicyVersion != 0 {
			t.Fatalf("device %s of the fixture on policy %d", d.ID, d.PolicyVersion)
		}
	}
	total := base + 5
	want := map[uint64][3]int{1: {3, total, 1}, 2: {2, total, 2}}
	for _, path := range []string{"/api/v1/policies/1", "/api/v1/policies/2", "/api/v1/policies/current"} {
		resp, b := e.do(t, "GET", path, e.tokens[store.RoleAnalyst], nil)
		p := decode[apitypes.Policy](t, b)
		if got := [3]int{p.Applied, p.Total, p.OnVersion}; resp.StatusCode != http.StatusOK || got != want[p.Version] {
			t.Errorf("GET %s: %d version %d applied/total/on_version %v, want %v", path, resp.StatusCode, p.Version, got, want[p.Version])
		}
	}
	_, b := e.do(t, "GET", "/api/v1/policies", e.tokens[store.RoleAnalyst], nil)
	for _, p := range decode[[]apitypes.Policy](t, b) {
		if got := [3]int{p.Applied, p.Total, p.OnVersion}; got != want[p.Version] {
			t.Errorf("list: version %d applied/total/on_version %v, want %v", p.Version, got, want[p.Version])
		}
	}
	// The raw JSON names the fields as documented.
	_, b = e.do(t, "GET", "/api/v1/policies/2", admin, nil)
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["applied"] != 2.0 || raw["total"] != float64(total) || raw["on_version"] != 2.0 {
		t.Errorf("GET /api/v1/policies/2 = %s", b)
	}
}

func adminSystem() adminsvc.Actor { return adminsvc.SystemActor }
