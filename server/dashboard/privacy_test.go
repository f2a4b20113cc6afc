package dashboard_test

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/docs"
	"github.com/vcguard/vcguard/server/store"
)

// TestPrivacyPagePublic: the data inventory is served to anyone, without a
// session, as HTML with every heading of docs/privacy.md, escaped, under
// the dashboard's CSP, loading no script.
func TestPrivacyPagePublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.do(t, request{method: http.MethodGet, path: "/privacy"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /privacy without a session: status %d, want 200 (%.200s)", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q: not the dashboard's", csp)
	}
	for _, bad := range []string{"<script", `src="http`, `href="http`, "<img", "<iframe"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page holds %q: it loads nothing but the dashboard's style sheet", bad)
		}
	}
	headings := 0
	for _, line := range strings.Split(docs.Privacy(), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		headings++
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		if !strings.Contains(body, ">"+html.EscapeString(text)+"</h") {
			t.Errorf("the page lacks the heading %q", text)
		}
	}
	if headings < 8 {
		t.Fatalf("docs/privacy.md has %d headings: not the inventory", headings)
	}
	for _, want := range []string{
		"<code>EnrollRequest.enroll_secret</code>", // a table's first cell
		"<td><code>events.payload</code></td>",
		"<strong>deprecated</strong>",
		"&#34;user:NAME&#34;", // quotes are escaped
		"<li>", "<table>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestLayoutLinksPrivacy: every page, the login form and those behind a
// login, links to the data inventory.
func TestLayoutLinksPrivacy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, _ := e.session(t, store.RoleAdmin, time.Now().Add(time.Hour))
	auditor, _ := e.session(t, store.RoleAuditor, time.Now().Add(time.Hour))
	for _, r := range []request{
		{method: http.MethodGet, path: "/login"},
		{method: http.MethodGet, path: "/privacy"},
		{method: http.MethodGet, path: "/", session: admin},
		{method: http.MethodGet, path: "/devices/dev-1", session: admin},
		{method: http.MethodGet, path: "/audit", session: auditor},
	} {
		resp, body := e.do(t, r)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", r.path, resp.StatusCode)
			continue
		}
		if !strings.Contains(body, `<a href="/privacy">`) {
			t.Errorf("GET %s: no link to /privacy", r.path)
		}
	}
}
