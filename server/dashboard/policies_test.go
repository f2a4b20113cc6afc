package dashboard_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/admin"
	"github.com/vcguard/vcguard/server/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// publishForm is the editor's confirmed publish: the document with its
// comment, confirm=yes and the digest of the reviewed document (CRLF as
// the browser sends it, digested as the server keeps it, with LF). An
// empty csrf is left out (the routes test adds its own).
func publishForm(csrf, doc, comment string) url.Values {
	sum := sha256.Sum256([]byte(strings.ReplaceAll(doc, "\r\n", "\n")))
	f := url.Values{"document": {doc}, "comment": {comment}, "confirm": {"yes"}, "reviewed": {hex.EncodeToString(sum[:])}}
	if csrf != "" {
		f.Set("csrf", csrf)
	}
	return f
}

// Publishing takes two steps: the first shows the changes and the version
// it becomes, the second publishes exactly the reviewed document.
func TestPolicyPublishReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	doc := "name: Strict\napps:\n  zoom:\n    status: forbidden\n"

	resp, body := b.post("/policies", url.Values{"csrf": {csrf}, "document": {doc}, "comment": {"forbid Zoom"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="confirm-publish-button"`) ||
		!strings.Contains(body, "Publish version 2") || !strings.Contains(body, `<span class="diff-add">&#43;name: Strict</span>`) {
		t.Fatalf("review: %d\n%.3000s", resp.StatusCode, body)
	}
	if ps, _ := e.store.Policies(t.Context()); len(ps) != 1 {
		t.Fatalf("the review published: %d versions", len(ps))
	}
	// The document changed after its review: reviewed again, not published.
	f := publishForm(csrf, doc, "forbid Zoom")
	f.Set("document", doc+"default: approved\n")
	if resp, body := b.post("/policies", f); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="confirm-publish-button"`) {
		t.Fatalf("confirm of a changed document: %d\n%.2000s", resp.StatusCode, body)
	}
	if ps, _ := e.store.Policies(t.Context()); len(ps) != 1 {
		t.Fatalf("a document changed after its review was published: %d versions", len(ps))
	}
	resp, _ = b.post("/policies", publishForm(csrf, doc, "forbid Zoom"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/policies?published=2" {
		t.Fatalf("confirmed publish: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Publishing or rolling back to the document in force is refused with a
// message naming the version it is identical to; nothing is published.
func TestPolicyNoOpRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	cur, err := e.store.CurrentPolicy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const want = "identical to version 1, the version in force"
	// At review and at confirmation (a form sent by hand).
	for name, f := range map[string]url.Values{
		"review":  {"csrf": {csrf}, "document": {string(cur.Document)}, "comment": {"again"}},
		"confirm": publishForm(csrf, string(cur.Document), "again"),
	} {
		resp, body := b.post("/policies", f)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, want) || strings.Contains(body, `id="confirm-publish-button"`) {
			t.Errorf("%s of the document in force: %d\n%.3000s", name, resp.StatusCode, body)
		}
	}
	// The textarea's CRLF line ends are not a change.
	crlf := strings.ReplaceAll(string(cur.Document), "\n", "\r\n")
	if resp, body := b.post("/policies", publishForm(csrf, crlf, "again")); resp.StatusCode != http.StatusConflict {
		t.Errorf("the document in force with CRLF line ends: %d\n%.2000s", resp.StatusCode, body)
	}
	doc := "name: Strict\napps:\n  zoom:\n    status: forbidden\n"
	if resp, _ := b.post("/policies", publishForm(csrf, doc, "forbid Zoom")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	// Rolling back to version 2, in force: refused on its page.
	resp, body := b.post("/policies/2/rollback", url.Values{"csrf": {csrf}, "comment": {"again"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "identical to version 2, the version in force") || !strings.Contains(body, `id="rollback-errors"`) {
		t.Errorf("rollback to the version in force: %d\n%.3000s", resp.StatusCode, body)
	}
	if ps, _ := e.store.Policies(t.Context()); len(ps) != 2 {
		t.Errorf("no-op changes published: %d versions, want 2", len(ps))
	}
	if log, _ := e.store.AuditLog(t.Context(), store.AuditFilter{}); countAction(log, "policy_publish")+countAction(log, "policy_rollback") != 1 {
		t.Errorf("audit log after refused no-ops: %+v", log)
	}
}

func countAction(log []store.AuditEntry, action string) int {
	n := 0
	for _, e := range log {
		if e.Action == action {
			n++
		}
	}
	return n
}

// A change comment is required to publish and to roll back; it is stored,
// shown in the history and on the version's page, and in the audit entry.
func TestPolicyChangeComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	doc := "name: Strict\napps:\n  zoom:\n    status: forbidden\n"
	for _, comment := range []string{"", "   \n "} {
		for name, f := range map[string]url.Values{
			"review":  {"csrf": {csrf}, "document": {doc}, "comment": {comment}},
			"confirm": publishForm(csrf, doc, comment),
		} {
			resp, body := b.post("/policies", f)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "a change comment is required") {
				t.Errorf("%s with comment %q: %d\n%.2000s", name, comment, resp.StatusCode, body)
			}
		}
	}
	// The comment field is required in the form too (the browser asks
	// before sending), and is kept when the page comes back.
	if _, body := b.post("/policies/validate", url.Values{"csrf": {csrf}, "document": {doc}, "comment": {"kept <here>"}}); !strings.Contains(body, `name="comment" maxlength="1000" required value="kept &lt;here&gt;"`) {
		t.Errorf("comment field after validating:\n%.3000s", body)
	}
	comment := "forbid Zoom: the DPA review <2026-05> failed"
	if resp, _ := b.post("/policies", publishForm(csrf, doc, "  "+comment+"\n")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	resp, body := b.post("/policies/1/rollback", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "a change comment is required") {
		t.Errorf("rollback without a comment: %d\n%.2000s", resp.StatusCode, body)
	}
	if resp, _ := b.post("/policies/1/rollback", url.Values{"csrf": {csrf}, "comment": {"Zoom is back: DPA signed"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rollback: %d", resp.StatusCode)
	}
	p2, err := e.store.Policy(t.Context(), 2)
	if err != nil || p2.Comment != comment {
		t.Errorf("stored comment %q, %v; want %q (trimmed)", p2.Comment, err, comment)
	}
	escaped := "forbid Zoom: the DPA review &lt;2026-05&gt; failed"
	_, body = b.get("/policies")
	if !strings.Contains(body, `<td class="policy-comment">`+escaped+`</td>`) || !strings.Contains(body, `<td class="policy-comment">Zoom is back: DPA signed</td>`) {
		t.Errorf("history lacks the comments:\n%.5000s", body)
	}
	if _, body := b.get("/policies/2"); !strings.Contains(body, `<dd id="policy-comment" class="policy-comment">`+escaped+`</dd>`) {
		t.Errorf("version page lacks the comment:\n%.3000s", body)
	}
	log, err := e.store.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, a := range log {
		if (a.Action == "policy_publish" && a.Target == "policy:2" && strings.Contains(string(a.Detail), `"comment":"forbid Zoom: the DPA review \u003c2026-05\u003e failed"`)) ||
			(a.Action == "policy_rollback" && a.Target == "policy:3" && strings.Contains(string(a.Detail), `"comment":"Zoom is back: DPA signed"`)) {
			found[a.Action] = true
		}
	}
	if !found["policy_publish"] || !found["policy_rollback"] {
		t.Errorf("audit entries with the comments: found %v in %+v", found, log)
	}
}

// applyPolicy records that device id applied version v, as its agent
// reports it.
func applyPolicy(t *testing.T, e *env, id string, v uint64) {
	t.Helper()
	ev := &vcguardv1.Event{Seq: 1, Time: timestamppb.Now(),
		Detail: &vcguardv1.Event_PolicyApplied{PolicyApplied: &vcguardv1.PolicyApplied{Version: v}}}
	if _, err := e.store.IngestEvents(t.Context(), id, []*vcguardv1.Event{ev}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// The history and the version page show how many enrolled devices applied
// each version; revoked devices are not counted.
func TestPolicyRolloutShown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	doc := "name: Strict\napps:\n  zoom:\n    status: forbidden\n"
	if resp, _ := b.post("/policies", publishForm(csrf, doc, "forbid Zoom")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	// dev-1 (from newEnv) applied nothing yet; dev-2 and dev-3 version 1,
	// then dev-3 version 2; dev-4 version 2 and is revoked.
	for i := 2; i <= 4; i++ {
		id := fmt.Sprintf("dev-%d", i)
		if err := e.store.CreateDevice(t.Context(), store.Device{ID: id, Hostname: "laptop-" + id, OS: "linux", Enrolled: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	applyPolicy(t, e, "dev-2", 1)
	applyPolicy(t, e, "dev-3", 2)
	applyPolicy(t, e, "dev-4", 2)
	if _, err := e.te.Service.RevokeDevice(t.Context(), admin.SystemActor, "dev-4"); err != nil {
		t.Fatal(err)
	}
	_, body := b.get("/policies")
	for _, want := range []string{
		`In force: <a href="/policies/2"><strong>Strict</strong>, version 2</a>`,
		`<span class="rollout" data-applied="1" data-total="3"><progress value="1" max="3">1 of 3</progress>1 of 3 devices applied</span>`,
		`<span class="rollout" data-applied="2" data-total="3"><progress value="2" max="3">2 of 3</progress>2 of 3 devices applied</span><br><span class="hint">1 still on it</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("policies page lacks %s\n%.6000s", want, body)
		}
	}
	if _, body := b.get("/policies/1"); !strings.Contains(body, "2 of 3 enrolled devices have applied this version or a newer one; 1 enforce this version now.") {
		t.Errorf("version 1 page:\n%.3000s", body)
	}
}

// POST /policies/check is the editor's live check: the same validation as
// publishing, answered as JSON with the line of each problem.
func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.loggedIn(t, store.RoleAdmin)
	resp, body := b.post("/policies/check", url.Values{"csrf": {csrf}, "document": {"name: x\r\napps:\r\n  zoom:\r\n    status: maybe\r\n"}})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(body, `{"problems":[{"line":4,"message":"policy:4: field apps.zoom.status:`) {
		t.Errorf("bad document: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = b.post("/policies/check", url.Values{"csrf": {csrf}, "document": {"name: Strict\napps:\n  zoom:\n    status: forbidden\n"}})
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"name":"Strict","problems":[]}` {
		t.Errorf("good document: %d\n%s", resp.StatusCode, body)
	}
	if ps, _ := e.store.Policies(t.Context()); len(ps) != 1 {
		t.Errorf("a check published: %d versions", len(ps))
	}
	// Analysts have no editor, so no check either.
	a, acsrf := e.loggedIn(t, store.RoleAnalyst)
	if resp, _ := a.post("/policies/check", url.Values{"csrf": {acsrf}, "document": {"name: x\n"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst: %d, want 403", resp.StatusCode)
	}
}

// The policies page allows exactly its own style elements: a fresh nonce
// per response in style-src, the same on the editor's script tag (which
// hands it to CodeMirror), and never 'unsafe-inline' or 'unsafe-eval'.
func TestPolicyEditorCSP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _ := e.loggedIn(t, store.RoleAdmin)
	nonceOf := regexp.MustCompile(`style-src 'self' 'nonce-([A-Za-z0-9_-]{20,})';`)
	var nonces []string
	for range 2 {
		resp, body := b.get("/policies")
		csp := resp.Header.Get("Content-Security-Policy")
		m := nonceOf.FindStringSubmatch(csp)
		if m == nil || strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "img-src 'self';") {
			t.Fatalf("policies page CSP %q", csp)
		}
		if !strings.Contains(body, `<script src="/static/editor/editor.js" nonce="`+m[1]+`" defer></script>`) {
			t.Errorf("the editor's script tag does not carry the nonce %s", m[1])
		}
		nonces = append(nonces, m[1])
	}
	if nonces[0] == nonces[1] {
		t.Error("two responses share a nonce")
	}
	// Other pages, and analysts (no editor), keep style-src 'self' alone.
	a, _ := e.loggedIn(t, store.RoleAnalyst)
	for _, c := range []struct {
		b    *browser
		path string
	}{{a, "/policies"}, {b, "/policies/1"}, {b, "/devices"}} {
		if resp, _ := c.b.get(c.path); !strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src 'self';") {
			t.Errorf("%s: CSP %q", c.path, resp.Header.Get("Content-Security-Policy"))
		}
	}
}
