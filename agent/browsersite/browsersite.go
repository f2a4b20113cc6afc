// Package browsersite names the meeting services a browser profile lets use
// the camera or microphone, from the browser's own permission store:
// Chromium-family profiles keep per-origin camera and microphone decisions
// in their Preferences file (JSON), Firefox in permissions.sqlite.
//
// When a browser holds the camera or microphone, these grants are the local
// evidence of which site may be using it: a site can only have the device
// after the person allowed it (persistently, for what this package sees).
//
// Privacy: the package reads permission decisions and nothing else. It never
// returns or logs browsing history, page titles or the other contents of the
// files it reads; its callers report only the catalog services a profile
// allows (Match) and how many other origins it allows, never those origins.
//
// Security: the agent runs as root (SYSTEM) and reads files in a person's
// home directory. Every file is opened below the home directory without
// following a symlink in any component below it, must be a regular file
// owned by the home's owner or root (not checked on Windows, see
// openInHome), and is read up to a bound.
//
// Parsers (ParseChromiumPreferences, ParseLocalState, ParseProfilesINI,
// Match) carry no build tag and are tested on every OS; where each browser
// keeps its profiles is per OS (browsers_linux.go, browsers_darwin.go,
// browsers_windows.go).
package browsersite

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/vcguard/vcguard/policies"
)

// Grant is one origin a browser profile allows (or blocks) to use the camera
// or microphone.
type Grant struct {
	// Origin is the origin or pattern the browser stores, normalised:
	// lower-case scheme and host, the host in ASCII (punycode), no default
	// port ("https://meet.google.com", "http://127.0.0.1:8080"). A Chromium
	// pattern for a domain and its subdomains is "[*.]host" (with its scheme
	// if it has one).
	Origin string
	// Scheme is the origin's scheme ("https"); empty for a Chromium pattern
	// that matches any scheme.
	Scheme string
	// Host is the origin's host, lower case, in ASCII, without port or
	// trailing dot.
	Host string
	// Port is the origin's explicit non-default port, or 0.
	Port int
	// Subdomains is set when the grant also covers every subdomain of Host
	// (a Chromium "[*.]" pattern).
	Subdomains bool
	// Camera and Microphone say which device the decision is about; one
	// origin's camera and microphone decisions are separate grants.
	Camera, Microphone bool
	// Allowed is true for a grant, false for a block (or any other
	// decision).
	Allowed bool
	// Modified is when the decision was made (zero if the store does not
	// say).
	Modified time.Time
	// LastUsed is when the origin last used the device under this decision
	// (Chromium's last_used; zero if not recorded). A browser holding the
	// camera now is most likely serving the origin used last.
	LastUsed time.Time
	// Expires is when a temporary decision lapses (zero: it does not).
	Expires time.Time
	// Profile is the profile directory's base name ("Default",
	// "Profile 1", "abcd1234.default-release"); set by Read, empty from the
	// parsers. A Firefox directory name carries the profile's name, which a
	// person may have chosen: do not report it.
	Profile string
}

// Active reports whether g allows the device at time now (allowed and not
// expired).
func (g Grant) Active(now time.Time) bool {
	return g.Allowed && (g.Expires.IsZero() || now.Before(g.Expires))
}

// Sites is what a browser's grants say about meeting services: which
// catalog services are allowed and how many other origins are.
type Sites struct {
	// Services are the catalog app ids whose web domains an allowed grant
	// covers, sorted and unique.
	Services []string
	// Others counts the distinct allowed origins that are no catalog
	// service's (their names are not kept, by design).
	Others int
}

// Match judges grants against the catalog's web domains. A grant counts for
// an app when it is allowed, its scheme is http or https (or any, for a
// scheme-less pattern), and its host is one of the app's web domains or a
// subdomain of one (meet.google.com for google.com's app, not
// notmeet.jit.si for meet.jit.si). The port is not compared: a service on
// another port of its own host is still the service. A pattern covering
// subdomains ([*.]google.com) counts for every app whose domain it covers.
// Blocked grants, other schemes (chrome-extension://) and other hosts count
// in Others, once per distinct origin; blocked grants do not count at all.
func Match(grants []Grant, cat *policies.Catalog) Sites {
	type domain struct{ host, app string }
	var domains []domain
	if cat != nil {
		for _, a := range cat.Apps() {
			for _, d := range a.WebDomains {
				if h, ok := normaliseHost(d); ok {
					domains = append(domains, domain{h, a.ID})
				}
			}
		}
	}
	services := map[string]bool{}
	others := map[string]bool{}
	for _, g := range grants {
		if !g.Allowed {
			continue
		}
		matched := false
		if g.Scheme == "" || g.Scheme == "http" || g.Scheme == "https" {
			for _, d := range domains {
				if coversHost(g, d.host) {
					services[d.app] = true
					matched = true
				}
			}
		}
		if !matched {
			others[g.Origin] = true
		}
	}
	s := Sites{Others: len(others)}
	for id := range services {
		s.Services = append(s.Services, id)
	}
	sort.Strings(s.Services)
	return s
}

// coversHost reports whether grant g applies to the catalog domain d or to
// a subdomain of it.
func coversHost(g Grant, d string) bool {
	if g.Host == "" {
		return false
	}
	if g.Host == d || strings.HasSuffix(g.Host, "."+d) {
		return true
	}
	// [*.]google.com covers meet.google.com.
	return g.Subdomains && strings.HasSuffix(d, "."+g.Host)
}

// normaliseHost lower-cases a host, converts it to ASCII (punycode) and
// drops a trailing dot. It refuses what cannot be a host name.
func normaliseHost(h string) (string, bool) {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", false
	}
	if strings.HasPrefix(h, "[") { // IPv6 literal, kept as written
		ip := net.ParseIP(strings.Trim(h, "[]"))
		if ip == nil {
			return "", false
		}
		return "[" + ip.String() + "]", true
	}
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		// Lookup refuses some names browsers accept (underscores); lower
		// case ASCII is still comparable.
		if !isASCII(h) {
			return "", false
		}
		a = strings.ToLower(h)
	}
	if a == "" || strings.ContainsAny(a, "/\\?#@ ,^") {
		return "", false
	}
	return a, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// defaultPort is the port a scheme implies, omitted from origins.
func defaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

// parseOrigin normalises "scheme://host[:port]" (no path) into a Grant's
// origin fields. Chromium's "[*.]" domain patterns and scheme-less patterns
// are accepted when subdomainPatterns is set.
func parseOrigin(s string, subdomainPatterns bool) (g Grant, ok bool) {
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		if !subdomainPatterns {
			return Grant{}, false
		}
		scheme, rest = "", s
	}
	scheme = strings.ToLower(scheme)
	if hasScheme && (scheme == "" || scheme == "*" && !subdomainPatterns) {
		return Grant{}, false
	}
	if scheme == "*" {
		scheme = ""
	}
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return Grant{}, false
		}
	}
	rest = strings.TrimSuffix(rest, "/") // Chromium patterns may end in "/"
	if strings.ContainsAny(rest, "/?#@") {
		return Grant{}, false
	}
	if subdomainPatterns && strings.HasPrefix(rest, "[*.]") {
		g.Subdomains = true
		rest = rest[len("[*.]"):]
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	if port != "" && port != "*" {
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return Grant{}, false
		}
		if p != defaultPort(scheme) {
			g.Port = p
		}
	}
	if port == "*" && !subdomainPatterns {
		return Grant{}, false
	}
	h, ok := normaliseHost(host)
	if !ok || strings.Contains(h, "*") { // "*" (every site) names no service
		return Grant{}, false
	}
	g.Scheme, g.Host = scheme, h
	var b strings.Builder
	if scheme != "" {
		b.WriteString(scheme + "://")
	}
	if g.Subdomains {
		b.WriteString("[*.]")
	}
	b.WriteString(h)
	if g.Port != 0 {
		b.WriteString(":" + strconv.Itoa(g.Port))
	}
	g.Origin = b.String()
	return g, true
}
