package dashboard_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/store"
)

// factSection is the part of a tool's page that shows one fact.
func factSection(t *testing.T, body, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `id="fact-`+name+`"`)
	if !ok {
		t.Fatalf("no section for fact %s", name)
	}
	section, _, _ := strings.Cut(rest, "</section>")
	return section
}

// The catalog page lists every tool of the server's catalog, each linking
// to its own page, and every tool's page shows each fact the catalog has
// with its source and the date it was checked; the navigation and the apps
// page link to it.
func TestCatalogPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cat := e.te.Service.Catalog
	if len(cat.Apps()) < 10 {
		t.Fatalf("the embedded catalog has %d tools", len(cat.Apps()))
	}
	e.te.Exec(t, 1, `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, running)
		VALUES ('dev-1', 4100, $1, 'jitsi-meet', 'Jitsi Meet', '/opt/jitsi', 'approved', 1)`, func(int) []any {
		return []any{time.Now().UnixMicro()}
	})
	b, _ := e.loggedIn(t, store.RoleAnalyst)

	resp, body := b.get("/catalog")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /catalog: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `<a href="/catalog">Catalog</a>`) {
		t.Error("the navigation does not link to the catalog")
	}
	if n := strings.Count(body, `<tr data-app="`); n != len(cat.Apps()) {
		t.Errorf("the catalog page lists %d tools, want %d", n, len(cat.Apps()))
	}
	for _, app := range cat.Apps() {
		if !strings.Contains(body, `<tr data-app="`+app.ID+`">`) || !strings.Contains(body, `<a href="/catalog/`+app.ID+`">`+html.EscapeString(app.Name)+`</a>`) {
			t.Errorf("the catalog page does not list %s with a link to its page", app.ID)
		}
	}
	for _, category := range []string{"meeting", "browser", "multi_service"} {
		if !strings.Contains(body, `id="catalog-`+category+`"`) {
			t.Errorf("no table of category %s", category)
		}
	}

	for _, app := range cat.Apps() {
		resp, body := b.get("/catalog/" + app.ID)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /catalog/%s: %d", app.ID, resp.StatusCode)
			continue
		}
		// A multi-service host lists the services it shows, each linked
		// to its page, with the list's source and date.
		if app.Embeds != nil {
			for _, id := range app.Embeds.Apps {
				e, _ := cat.App(id)
				if !strings.Contains(body, `<li><a href="/catalog/`+id+`">`+html.EscapeString(e.Name)+`</a></li>`) {
					t.Errorf("%s: the service %s it shows is not listed", app.ID, id)
				}
			}
			source := html.EscapeString(app.Embeds.Source)
			if !strings.Contains(body, `<a href="`+source+`" rel="noopener noreferrer">`+source+`</a>, checked `+app.Embeds.Checked+` <span class="age">(`) {
				t.Errorf("%s: no link to the source of its services with its date", app.ID)
			}
		} else if strings.Contains(body, `id="embeds"`) {
			t.Errorf("%s lists embedded services, but is no multi-service host", app.ID)
		}
		if app.Facts == nil {
			if !strings.Contains(body, `id="no-facts"`) || strings.Contains(body, `<section class="fact`) {
				t.Errorf("%s has no facts, not said", app.ID)
			}
			continue
		}
		for _, f := range app.Facts.List() {
			section := factSection(t, body, f.Name)
			if !f.Present {
				if !strings.Contains(section, `<span class="marker marker-missing">missing</span>`) {
					t.Errorf("%s: fact %s is not marked missing", app.ID, f.Name)
				}
				continue
			}
			source := html.EscapeString(f.Source)
			if !strings.Contains(section, `<a href="`+source+`" rel="noopener noreferrer">`+source+`</a>`) {
				t.Errorf("%s: fact %s: no link to its source %s", app.ID, f.Name, f.Source)
			}
			if !strings.Contains(section, `<time datetime="`+f.Checked+`">`+f.Checked+`</time> <span class="age">(`) {
				t.Errorf("%s: fact %s: no checked date %s with its age", app.ID, f.Name, f.Checked)
			}
			if f.DependsOn == policies.DependsOnServer && !strings.Contains(section, "depends on the server") {
				t.Errorf("%s: fact %s depends on the server, not said", app.ID, f.Name)
			}
			for host, v := range f.Servers {
				if !strings.Contains(section, `<li><code>`+host+`</code>: <code>`+v+`</code></li>`) {
					t.Errorf("%s: fact %s: the value on %s (%s) is not shown", app.ID, f.Name, host, v)
				}
			}
		}
	}

	// Jitsi Meet: the facts with more than a value show it all.
	_, body = b.get("/catalog/jitsi-meet")
	jitsi, _ := cat.App("jitsi-meet")
	j := jitsi.Facts.Jurisdiction
	for _, want := range []string{"<dd>" + html.EscapeString(j.Entity) + "</dd>", "<dd>" + j.Seat + "</dd>", "<dd>" + j.Parent + "</dd>"} {
		if !strings.Contains(factSection(t, body, "jurisdiction"), want) {
			t.Errorf("jitsi-meet: the jurisdiction lacks %s", want)
		}
	}
	// A tool whose sso fact names no protocol says so; one that names
	// some lists them (taken from the catalog, whose facts change).
	for _, app := range cat.Apps() {
		if app.Facts == nil || app.Facts.SSO == nil || app.Facts.SSO.Value == "" {
			continue
		}
		sso := app.Facts.SSO
		_, page := b.get("/catalog/" + app.ID)
		section := factSection(t, page, "sso")
		if len(sso.Protocols) == 0 {
			if !strings.Contains(section, `<dt>Protocols</dt><dd><span class="none">none named</span></dd>`) {
				t.Errorf("%s: the sso section does not say it names no protocol", app.ID)
			}
			continue
		}
		for _, p := range sso.Protocols {
			if !strings.Contains(section, p) {
				t.Errorf("%s: the sso section does not name the protocol %s", app.ID, p)
			}
		}
	}

	_, apps := b.get("/apps")
	if !strings.Contains(apps, `<a href="/catalog/jitsi-meet" title="Its facts in the catalog">Jitsi Meet</a>`) {
		t.Errorf("the apps page does not link Jitsi Meet to its catalog page:\n%.2000s", apps)
	}

	resp, body = b.get("/catalog/no-such-tool")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `id="not-in-catalog"`) {
		t.Errorf("GET /catalog/no-such-tool: %d", resp.StatusCode)
	}
}

// testTool is a catalog entry with one fact checked more than a year
// before testNow, one exactly a year before, notes with markup, and the
// facts with more than a value.
const testTool = `app_id: test-tool
name: Test <Tool>
vendor: Example & Co
category: meeting
homepage: https://tool.example/
web_domains: [tool.example]
facts:
  e2ee:
    value: optional
    note: 'Off by default. <script>alert("e2ee")</script> & <b>bold</b>'
    source: https://tool.example/e2ee?a=1&b=2
    checked: '2026-03-14'
  data_location:
    value: eu_option
    depends_on: server
    servers:
      public.tool.example: outside_eu
    source: https://tool.example/location
    checked: '2026-03-15'
  self_hostable:
    value: true
    source: https://tool.example/self-host
    checked: '2027-02-13'
  open_source:
    value: none
    source: https://tool.example/licence
    checked: '2027-03-15'
  certifications:
    value: [ISO/IEC 27001]
    source: https://tool.example/trust
    checked: '2025-01-10'
  jurisdiction:
    value: eu_subsidiary
    seat: IE
    parent: US
    entity: Tool Europe Ltd
    source: https://tool.example/legal
    checked: '2027-01-01'
  transfers:
    value: sccs
    outside_eea: [Cloud Inc (US), Support Ltd (IN)]
    source: https://tool.example/subprocessors
    checked: '2027-01-01'
  sso:
    value: enforceable
    protocols: [saml, oidc]
    source: https://tool.example/sso
    checked: '2027-01-01'
  lifecycle:
    value: end_of_support
    date: '2027-12-31'
    source: https://tool.example/lifecycle
    checked: '2027-01-01'
  mfa: {value: enforceable, source: 'https://tool.example/mfa', checked: '2027-01-01'}
  telemetry: {value: opt_out, source: 'https://tool.example/privacy', checked: '2027-01-01'}
  processor_agreement: {value: standard, source: 'https://tool.example/dpa', checked: '2027-01-01'}
  business_model: {value: paid, source: 'https://tool.example/pricing', checked: '2027-01-01'}
`

// testNow is the server's clock in the tests of testTool.
var testNow = time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC)

// A tool's page counts the age of each fact on the server's clock, marks
// what is older than twelve months, escapes the catalog's text and links
// https sources only.
func TestCatalogToolAges(t *testing.T) {
	t.Parallel()
	tool, err := policies.ParseApp("test-tool.yaml", []byte(testTool))
	if err != nil {
		t.Fatal(err)
	}
	// The loader requires every fact; a catalog built in code may lack
	// some, and the pages say which.
	tool.Facts.MFA, tool.Facts.Telemetry, tool.Facts.ProcessorAgreement, tool.Facts.BusinessModel = nil, nil, nil, nil
	// Built without the loader's checks: a source that is not https.
	unchecked := &policies.App{ID: "unchecked", Name: "Unchecked", Vendor: "Nobody", Category: policies.CategoryMeeting,
		Facts: &policies.Facts{E2EE: &policies.Fact[string]{Value: "none", Source: "javascript:alert(1)", Checked: "2027-03-01"}}}
	browser := &policies.App{ID: "a-browser", Name: "A Browser", Vendor: "Browsers", Category: policies.CategoryBrowser}
	cat, err := policies.NewCatalog(tool, unchecked, browser)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.dash.Catalog = func() *policies.Catalog { return cat }
	e.te.Service.Clock = func() time.Time { return testNow }
	b, _ := e.loggedIn(t, store.RoleAnalyst)

	_, body := b.get("/catalog")
	for _, want := range []string{
		"Ages as of 2027-03-15 (server clock)",
		`<a href="/catalog/test-tool">Test &lt;Tool&gt;</a> <span class="vendor">Example &amp; Co</span>`,
		`<td data-label="Facts" class="fact-count">9 of 13 <span class="marker marker-missing" title="Missing: Two-factor login, Telemetry, Processor agreement (art. 28 GDPR), Business model">4 missing</span></td>`,
		`2025-01-10 <span class="age">(2 years, 2 months ago)</span> <span class="marker marker-old">2 older than 12 months</span>`,
		`<td data-label="Facts" class="fact-count">1 of 13 <span class="marker marker-missing"`,
		`<td data-label="Facts" class="fact-count"><span class="none">none</span></td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the catalog page lacks %s", want)
		}
	}
	if strings.Contains(body, "<Tool>") {
		t.Error("the catalog page does not escape a tool's name")
	}

	_, body = b.get("/catalog/test-tool")
	for name, want := range map[string][]string{
		"e2ee": {`<span class="marker marker-old">older than 12 months</span>`,
			`<time datetime="2026-03-14">2026-03-14</time> <span class="age">(12 months ago)</span>`,
			`<p class="note">Off by default. &lt;script&gt;alert(&#34;e2ee&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;</p>`,
			`<a href="https://tool.example/e2ee?a=1&amp;b=2" rel="noopener noreferrer">`},
		"data_location": {`<span class="marker marker-server">depends on the server</span>`,
			`<li><code>public.tool.example</code>: <code>outside_eu</code></li>`,
			`<span class="age">(12 months ago)</span>`},
		"self_hostable":  {`<code>yes</code>`, `<span class="age">(30 days ago)</span>`},
		"open_source":    {`<span class="age">(today)</span>`},
		"certifications": {`<code>ISO/IEC 27001</code>`, `<span class="marker marker-old">older than 12 months</span>`, `(2 years, 2 months ago)`},
		"jurisdiction":   {`<dt>Contracting entity</dt><dd>Tool Europe Ltd</dd>`, `<dt>Seat</dt><dd>IE</dd>`, `<dt>Parent&#39;s country</dt><dd>US</dd>`},
		"transfers":      {`<dt>Recipients outside the EEA</dt><dd>Cloud Inc (US), Support Ltd (IN)</dd>`},
		"sso":            {`<dt>Protocols</dt><dd>saml, oidc</dd>`},
		"lifecycle":      {`<code>end_of_support</code>`, `<dt>Support ends or ended</dt><dd>2027-12-31</dd>`},
		"mfa":            {`<span class="marker marker-missing">missing</span>`},
		"telemetry":      {`<span class="marker marker-missing">missing</span>`},
	} {
		section := factSection(t, body, name)
		for _, w := range want {
			if !strings.Contains(section, w) {
				t.Errorf("fact %s lacks %s:\n%s", name, w, section)
			}
		}
	}
	// Only the two facts checked more than twelve months before now are old.
	if n := strings.Count(body, `class="marker marker-old"`); n != 2 {
		t.Errorf("%d facts marked old, want 2 (e2ee, certifications)", n)
	}
	if !strings.Contains(body, "<strong>2 checked more than 12 months ago</strong>") {
		t.Error("the summary does not count the old facts")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>bold") {
		t.Error("a note's markup reaches the page unescaped")
	}
	// Every link out of the page is https and keeps the dashboard's address
	// to itself.
	for _, m := range regexp.MustCompile(`<a href="([^"/][^"]*)"([^>]*)>`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "https://") || m[2] != ` rel="noopener noreferrer"` {
			t.Errorf("link %s%s: want https with rel=\"noopener noreferrer\"", m[1], m[2])
		}
	}

	_, body = b.get("/catalog/unchecked")
	section := factSection(t, body, "e2ee")
	if strings.Contains(section, "<a ") || !strings.Contains(section, `<code>javascript:alert(1)</code> <span class="marker marker-missing">not an https link</span>`) {
		t.Errorf("a source that is not https:\n%s", section)
	}

	// A read-only analyst reads it; without a session it sends to the login.
	for _, path := range []string{"/catalog", "/catalog/test-tool"} {
		if resp, _ := e.do(t, request{method: "GET", path: path}); !isRedirectToLogin(resp) {
			t.Errorf("GET %s without a session: %d %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
