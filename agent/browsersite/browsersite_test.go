package browsersite

import (
	"reflect"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

func TestParseOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		patterns bool
		origin   string // "" when refused
		host     string
		port     int
		subs     bool
	}{
		{"https://meet.google.com:443", false, "https://meet.google.com", "meet.google.com", 0, false},
		{"https://meet.google.com", false, "https://meet.google.com", "meet.google.com", 0, false},
		{"HTTPS://Meet.JIT.si", false, "https://meet.jit.si", "meet.jit.si", 0, false},
		{"https://meet.jit.si.", false, "https://meet.jit.si", "meet.jit.si", 0, false},
		{"http://127.0.0.1:46101", false, "http://127.0.0.1:46101", "127.0.0.1", 46101, false},
		{"http://example.org:80", false, "http://example.org", "example.org", 0, false},
		{"https://example.org:80", false, "https://example.org:80", "example.org", 80, false},
		{"http://[::1]:8080", false, "http://[::1]:8080", "[::1]", 8080, false},
		{"http://[0:0::1]", false, "http://[::1]", "[::1]", 0, false},
		{"https://bücher.example", false, "https://xn--bcher-kva.example", "xn--bcher-kva.example", 0, false},
		{"https://BÜCHER.example", false, "https://xn--bcher-kva.example", "xn--bcher-kva.example", 0, false},
		{"https://xn--bcher-kva.example", false, "https://xn--bcher-kva.example", "xn--bcher-kva.example", 0, false},
		{"chrome-extension://abcdefghijklmnop", false, "chrome-extension://abcdefghijklmnop", "abcdefghijklmnop", 0, false},
		{"https://under_score.example", false, "https://under_score.example", "under_score.example", 0, false},
		// Chromium patterns.
		{"[*.]google.com", true, "[*.]google.com", "google.com", 0, true},
		{"https://[*.]google.com:443", true, "https://[*.]google.com", "google.com", 0, true},
		{"https://[*.]google.com", false, "", "", 0, false},
		{"meet.google.com", true, "meet.google.com", "meet.google.com", 0, false},
		{"https://meet.google.com:*", true, "https://meet.google.com", "meet.google.com", 0, false},
		{"https://meet.google.com:*", false, "", "", 0, false},
		{"*://meet.google.com", true, "meet.google.com", "meet.google.com", 0, false},
		{"https://meet.google.com/", true, "https://meet.google.com", "meet.google.com", 0, false},
		// Refused.
		{"*", true, "", "", 0, false},
		{"https://*", true, "", "", 0, false},
		{"meet.google.com", false, "", "", 0, false},
		{"https://meet.google.com/path", false, "", "", 0, false},
		{"https://user@meet.google.com", false, "", "", 0, false},
		{"https://meet.google.com:0", false, "", "", 0, false},
		{"https://meet.google.com:70000", false, "", "", 0, false},
		{"https://meet.google.com:x", false, "", "", 0, false},
		{"https://", false, "", "", 0, false},
		{"://meet.google.com", false, "", "", 0, false},
		{"ht tp://meet.google.com", false, "", "", 0, false},
		{"http://[zz]", false, "", "", 0, false},
		{"https://a b.example", false, "", "", 0, false},
	}
	for _, tt := range tests {
		g, ok := parseOrigin(tt.in, tt.patterns)
		if tt.origin == "" {
			if ok {
				t.Errorf("parseOrigin(%q, %v) = %+v, want refused", tt.in, tt.patterns, g)
			}
			continue
		}
		if !ok || g.Origin != tt.origin || g.Host != tt.host || g.Port != tt.port || g.Subdomains != tt.subs {
			t.Errorf("parseOrigin(%q, %v) = %+v, %v; want origin %q host %q port %d subdomains %v",
				tt.in, tt.patterns, g, ok, tt.origin, tt.host, tt.port, tt.subs)
		}
	}
}

// grant builds an allowed camera grant the way the parsers do.
func grant(t *testing.T, origin string) Grant {
	t.Helper()
	g, ok := parseOrigin(origin, true)
	if !ok {
		t.Fatalf("parseOrigin(%q) refused", origin)
	}
	g.Camera, g.Allowed = true, true
	return g
}

func TestMatch(t *testing.T) {
	t.Parallel()
	cat, err := policies.NewCatalog(
		&policies.App{ID: "google-meet", WebDomains: []string{"meet.google.com"}},
		&policies.App{ID: "jitsi-meet", WebDomains: []string{"meet.jit.si", "8x8.vc"}},
		&policies.App{ID: "webex", WebDomains: []string{"webex.com"}},
		&policies.App{ID: "webex-meetings", WebDomains: []string{"webex.com"}},
		&policies.App{ID: "idn-meet", WebDomains: []string{"Bücher.Example."}},
		&policies.App{ID: "chrome"}, // a browser: no web domains
	)
	if err != nil {
		t.Fatal(err)
	}
	blocked := grant(t, "https://meet.jit.si")
	blocked.Allowed = false
	mic := grant(t, "https://www.example.org")
	mic.Camera, mic.Microphone = false, true

	tests := []struct {
		name   string
		grants []Grant
		want   Sites
	}{
		{"none", nil, Sites{}},
		{"exact host", []Grant{grant(t, "https://meet.google.com")}, Sites{Services: []string{"google-meet"}}},
		{"parent domain is not the service", []Grant{grant(t, "https://google.com")}, Sites{Others: 1}},
		{"sibling is not the service", []Grant{grant(t, "https://mail.google.com")}, Sites{Others: 1}},
		{"subdomain of the service", []Grant{grant(t, "https://eu.meet.google.com")}, Sites{Services: []string{"google-meet"}}},
		{"a name ending in the domain is not a subdomain", []Grant{grant(t, "https://notmeet.jit.si")}, Sites{Others: 1}},
		{"the domain inside another name", []Grant{grant(t, "https://meet.jit.si.example.net")}, Sites{Others: 1}},
		{"another port", []Grant{grant(t, "https://meet.jit.si:8443")}, Sites{Services: []string{"jitsi-meet"}}},
		{"http", []Grant{grant(t, "http://meet.jit.si")}, Sites{Services: []string{"jitsi-meet"}}},
		{"upper case and trailing dot", []Grant{grant(t, "HTTPS://MEET.JIT.SI.")}, Sites{Services: []string{"jitsi-meet"}}},
		{"second domain of an app", []Grant{grant(t, "https://8x8.vc")}, Sites{Services: []string{"jitsi-meet"}}},
		{"IDN in Unicode against a Unicode catalog domain", []Grant{grant(t, "https://bücher.example")}, Sites{Services: []string{"idn-meet"}}},
		{"IDN in punycode", []Grant{grant(t, "https://xn--bcher-kva.example")}, Sites{Services: []string{"idn-meet"}}},
		{"one domain, two apps", []Grant{grant(t, "https://acme.webex.com")}, Sites{Services: []string{"webex", "webex-meetings"}}},
		{"pattern covering the service", []Grant{grant(t, "[*.]google.com")}, Sites{Services: []string{"google-meet"}}},
		{"pattern for the service's own domain", []Grant{grant(t, "https://[*.]meet.jit.si")}, Sites{Services: []string{"jitsi-meet"}}},
		{"pattern for a sibling", []Grant{grant(t, "[*.]mail.google.com")}, Sites{Others: 1}},
		{"other scheme", []Grant{grant(t, "chrome-extension://meet.google.com")}, Sites{Others: 1}},
		{"ws is not a web page", []Grant{grant(t, "wss://meet.jit.si")}, Sites{Others: 1}},
		{"blocked counts nowhere", []Grant{blocked}, Sites{}},
		{"camera and microphone of one origin count once", []Grant{grant(t, "https://www.example.org"), mic, grant(t, "http://127.0.0.1:8080")}, Sites{Others: 2}},
		{"sorted and unique", []Grant{grant(t, "https://meet.jit.si"), grant(t, "https://meet.google.com"), grant(t, "https://8x8.vc")},
			Sites{Services: []string{"google-meet", "jitsi-meet"}}},
	}
	for _, tt := range tests {
		if got := Match(tt.grants, cat); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Match = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := Match([]Grant{grant(t, "https://meet.google.com")}, nil); !reflect.DeepEqual(got, Sites{Others: 1}) {
		t.Errorf("Match with no catalog = %+v, want one other", got)
	}
}

// TestMatchEmbeddedCatalog checks the shipped catalog's domains, which the
// package does not own: a change there that breaks a match shows here.
func TestMatchEmbeddedCatalog(t *testing.T) {
	t.Parallel()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string][]string{
		"https://meet.google.com":       {"google-meet"},
		"https://meet.jit.si":           {"jitsi-meet"},
		"https://teams.microsoft.com":   {"microsoft-teams"},
		"https://app.zoom.us":           {"zoom"},
		"https://us05web.zoom.us":       {"zoom"},
		"https://acme.webex.com":        {"webex", "webex-meetings"},
		"https://whereby.com":           {"whereby"},
		"https://google.com":            nil,
		"https://zoom.us.example.net":   nil,
		"https://notmeet.jit.si":        nil,
		"https://teams.microsoft.com.x": nil,
	} {
		got := Match([]Grant{grant(t, origin)}, cat)
		if !reflect.DeepEqual(got.Services, want) || (want == nil) != (got.Others == 1) {
			t.Errorf("%s: Match = %+v, want services %q", origin, got, want)
		}
	}
}

func TestGrantActive(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		g    Grant
		want bool
	}{
		{Grant{Allowed: true}, true},
		{Grant{Allowed: false}, false},
		{Grant{Allowed: true, Expires: now.Add(time.Second)}, true},
		{Grant{Allowed: true, Expires: now}, false},
		{Grant{Allowed: true, Expires: now.Add(-time.Hour)}, false},
	} {
		if got := tt.g.Active(now); got != tt.want {
			t.Errorf("%+v.Active = %v, want %v", tt.g, got, tt.want)
		}
	}
}
