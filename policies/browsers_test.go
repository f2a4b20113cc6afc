package policies

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseOriginPattern(t *testing.T) {
	t.Parallel()
	ok := map[string]OriginPattern{
		"https://meet.example.org":        {Scheme: "https", Host: "meet.example.org"},
		"https://Meet.Example.org/":       {Scheme: "https", Host: "meet.example.org"},
		"https://meet.example.org:8443":   {Scheme: "https", Host: "meet.example.org", Port: 8443},
		"https://*.example.org":           {Scheme: "https", Host: "example.org", Subdomains: true},
		"http://127.0.0.1:8080":           {Scheme: "http", Host: "127.0.0.1", Port: 8080},
		"http://localhost:3000":           {Scheme: "http", Host: "localhost", Port: 3000},
		"https://xn--bcher-kva.example":   {Scheme: "https", Host: "xn--bcher-kva.example"},
		"https://10.1.2.3":                {Scheme: "https", Host: "10.1.2.3"},
		"https://bbb.example.org.":        {Scheme: "https", Host: "bbb.example.org"},
		"https://*.meet.example.org:443/": {Scheme: "https", Host: "meet.example.org", Port: 443, Subdomains: true},
	}
	for s, want := range ok {
		got, err := ParseOriginPattern(s)
		if err != nil || got != want {
			t.Errorf("ParseOriginPattern(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{
		"", "meet.example.org", "http://meet.example.org", "ftp://x.example.org", "https://", "https://user@x.example.org",
		"https://x.example.org/room", "https://x.example.org?a=1", "https://x.example.org#f", "https://x.example.org:0",
		"https://x.example.org:70000", "https://*.10.1.2.3", "http://*.localhost", "https://ex ample.org", "https://*.*.example.org",
		"https://a..example.org", "https://-a.example.org",
	} {
		if o, err := ParseOriginPattern(s); err == nil {
			t.Errorf("ParseOriginPattern(%q) = %+v, want an error", s, o)
		}
	}
}

func FuzzParseOriginPattern(f *testing.F) {
	for _, s := range []string{"https://meet.example.org", "https://*.example.org:8443", "http://127.0.0.1:1", "https://[::1]:9", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOriginPattern(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		// What is accepted prints back to a pattern that parses to
		// itself, so the agent's browser policies and the dashboard agree.
		back, err := ParseOriginPattern(o.String())
		if err != nil || back != o {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, o, o.String(), back, err)
		}
	})
}

func TestMatchOrigin(t *testing.T) {
	t.Parallel()
	ps := []OriginPattern{
		{Scheme: "https", Host: "meet.example.org"},
		{Scheme: "https", Host: "zoom.us", Subdomains: true},
		{Scheme: "http", Host: "127.0.0.1", Port: 8080},
	}
	for origin, want := range map[string]bool{
		"https://meet.example.org":      true,
		"https://meet.example.org:443":  true,
		"https://meet.example.org:8443": false,
		"http://meet.example.org":       false,
		"https://x.meet.example.org":    false,
		"https://zoom.us":               true,
		"https://us02web.zoom.us":       true,
		"https://notzoom.us":            false,
		"https://zoom.us.evil.example":  false,
		"http://127.0.0.1:8080":         true,
		"http://127.0.0.1:8081":         false,
		"not an origin":                 false,
	} {
		if got := MatchOrigin(origin, ps); got != want {
			t.Errorf("MatchOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}

func TestBrowserRulesInForce(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	central := mustParse(t, cat, `
name: central
default: forbidden
apps:
  jitsi-meet: {status: approved}
  whereby: {status: restricted}
  google-meet: {status: forbidden}
browsers:
  media_origins: enforce
  allowed_origins: [https://bbb.example.org, https://meet.example.org]
  screen_capture: block
  unapproved_site: warn
`)
	local := mustParse(t, cat, `
name: local
apps:
  jitsi-meet: {status: approved}
browsers:
  media_origins: enforce
  allowed_origins: [https://meet.example.org]
`)
	watch := mustParse(t, cat, `
name: watch
apps:
  jitsi-meet: {status: approved}
browsers:
  allowed_origins: [https://bbb.example.org]
  unknown_site: warn
`)
	strs := func(os []OriginPattern) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.String())
		}
		return out
	}
	jitsi, _ := cat.App("jitsi-meet")
	whereby, _ := cat.App("whereby")
	var want []string
	for _, d := range append(append([]string{}, jitsi.WebDomains...), whereby.WebDomains...) {
		want = append(want, "https://*."+d)
	}
	want = append(want, "https://bbb.example.org", "https://meet.example.org")
	slices.Sort(want)

	b := BrowserRulesInForce([]*Policy{central}, "")
	if b.Mode != BrowserEnforce || !b.BlockScreenCapture || b.UnapprovedSite != ActionWarn || b.UnknownSite != ActionMonitor || !b.Configured {
		t.Errorf("central: %+v", b)
	}
	if got := strs(b.Origins); !reflect.DeepEqual(got, want) {
		t.Errorf("central origins = %v, want %v", got, want)
	}
	// Two enforcing policies: an origin must be allowed by both.
	b = BrowserRulesInForce([]*Policy{central, local}, "")
	var both []string
	for _, d := range jitsi.WebDomains {
		both = append(both, "https://*."+d)
	}
	both = append(both, "https://meet.example.org")
	slices.Sort(both)
	if got := strs(b.Origins); !reflect.DeepEqual(got, both) {
		t.Errorf("central+local origins = %v, want %v", got, both)
	}
	// Monitor only: the union, for telling own sites from others.
	b = BrowserRulesInForce([]*Policy{watch}, "")
	if b.Mode != BrowserMonitor || b.BlockScreenCapture || b.UnknownSite != ActionWarn {
		t.Errorf("watch: %+v", b)
	}
	if !MatchOrigin("https://bbb.example.org", b.Origins) || !MatchOrigin("https://"+jitsi.WebDomains[0], b.Origins) {
		t.Errorf("watch origins %v miss the own site or jitsi", strs(b.Origins))
	}
	if b := BrowserRulesInForce([]*Policy{nil, mustParse(t, cat, "name: none\n")}, ""); b.Configured || b.Mode != BrowserMonitor || len(b.Origins) != 0 {
		t.Errorf("no browsers section: %+v", b)
	}
}

func TestEvaluateSites(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	p := mustParse(t, cat, `
name: p
default: forbidden
apps:
  jitsi-meet: {status: approved}
  whereby: {status: restricted}
  google-meet: {status: forbidden, alternative: jitsi-meet}
browsers:
  unapproved_site: warn
`)
	ps := []*Policy{p}
	b := BrowserRulesInForce(ps, "")
	cases := []struct {
		name string
		s    SitesSubject
		want SiteFinding
	}{
		{"nothing known", SitesSubject{}, SiteFinding{Kind: SiteNone, Action: ActionMonitor}},
		{"approved service", SitesSubject{Services: []string{"jitsi-meet"}, Others: 3},
			SiteFinding{Kind: SiteApproved, Action: ActionMonitor, Services: []SiteVerdict{{"jitsi-meet", VerdictApproved}}}},
		{"own site only", SitesSubject{Own: 1}, SiteFinding{Kind: SiteApproved, Action: ActionMonitor}},
		{"unapproved wins", SitesSubject{Services: []string{"google-meet", "whereby"}},
			SiteFinding{Kind: SiteUnapproved, Action: ActionWarn, Alternative: "jitsi-meet",
				Services: []SiteVerdict{{"google-meet", VerdictForbidden}, {"whereby", VerdictRestricted}}}},
		{"by default forbidden", SitesSubject{Services: []string{"zoho-meeting"}},
			SiteFinding{Kind: SiteUnapproved, Action: ActionWarn, Services: []SiteVerdict{{"zoho-meeting", VerdictForbidden}}}},
		{"others only", SitesSubject{Others: 2}, SiteFinding{Kind: SiteUnknown, Action: ActionMonitor}},
	}
	for _, c := range cases {
		if got := b.EvaluateSites(ps, c.s); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestParsePolicyBrowserErrors(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	cases := []struct{ doc, field, msg string }{
		{"name: x\nbrowsers:\n  media_origins: block\n", "browsers.media_origins", "not one of monitor, enforce"},
		{"name: x\nbrowsers:\n  allowed_origins: [https://ok.example.org, http://bbb.example.org]\n", "browsers.allowed_origins.1", "scheme must be https"},
		{"name: x\nbrowsers:\n  allowed_origins: [https://bbb.example.org/b/room-1]\n", "browsers.allowed_origins.0", "leave out user, path"},
		{"name: x\nbrowsers:\n  screen_capture: block\n", "browsers.screen_capture", "needs media_origins: enforce"},
		{"name: x\nbrowsers:\n  media_origins: enforce\n  screen_capture: never\n", "browsers.screen_capture", "not one of allow, block"},
		{"name: x\nbrowsers:\n  unknown_site: block\n", "browsers.unknown_site", "block is not allowed here"},
		{"name: x\nbrowsers:\n  unapproved_site: shout\n", "browsers.unapproved_site", "not one of monitor, warn, block"},
	}
	for _, c := range cases {
		_, err := ParsePolicy("p.yaml", []byte(c.doc), cat)
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) || fe.Line == 0 {
			t.Errorf("%q: got %v, want field %s with %q and a line", c.doc, err, c.field, c.msg)
		}
	}
}

func TestCatalogWebService(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	meet, ok := cat.App("google-meet")
	if !ok || len(meet.WebDomains) == 0 {
		t.Fatal("no google-meet with web domains in the catalog")
	}
	d := meet.WebDomains[0]
	for host, want := range map[string]string{
		d:                     "google-meet",
		strings.ToUpper(d):    "google-meet",
		"x." + d:              "google-meet",
		"not" + d:             "",
		d + ".evil.example":   "",
		"meet.jit.si":         "jitsi-meet",
		"nothing.example.org": "",
	} {
		a, ok := cat.WebService(host)
		got := ""
		if ok {
			got = a.ID
		}
		if got != want {
			t.Errorf("WebService(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestCatalogWebServicesUnder(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	ids := func(as []*App) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids(cat.WebServicesUnder("jit.si")); !slices.Contains(got, "jitsi-meet") {
		t.Errorf("under jit.si: %v, want jitsi-meet", got)
	}
	if got := ids(cat.WebServicesUnder("MEET.JIT.SI.")); !slices.Equal(got, []string{"jitsi-meet"}) {
		t.Errorf("under meet.jit.si: %v", got)
	}
	if got := cat.WebServicesUnder("it.si"); len(got) != 0 {
		t.Errorf("under it.si (not a parent of jit.si): %v", ids(got))
	}
}
