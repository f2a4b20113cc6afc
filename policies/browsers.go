package policies

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// Meetings in the browser. Google Meet, Whereby, BigBlueButton and the web
// clients of Teams, Zoom, Webex and Jitsi run in a browser, where the app
// checks see only "a browser". A policy's browsers section says which web
// origins may use the camera and microphone: those of the approved and
// restricted catalog tools (their web_domains) and the organisation's own
// (allowed_origins). In enforce mode the agent writes the browsers'
// managed policies so that no other site can; in both modes, when a
// browser holds the camera or microphone, the agent names the meeting
// services the browser lets use them (EvaluateSites).

// BrowserMode says what the agent does about sites in browsers.
type BrowserMode string

const (
	// BrowserMonitor reports which sites a browser lets use the camera and
	// microphone, and writes no browser policy.
	BrowserMonitor BrowserMode = "monitor"
	// BrowserEnforce also writes the browsers' managed policies: only the
	// allowed origins may use the camera and microphone.
	BrowserEnforce BrowserMode = "enforce"
)

// BrowserRules are a policy's rules for meetings held in a browser.
type BrowserRules struct {
	// MediaOrigins is monitor or enforce; empty is monitor.
	MediaOrigins BrowserMode `yaml:"media_origins,omitempty" json:"media_origins,omitempty"`
	// AllowedOrigins are the organisation's own meeting sites, beside the
	// catalog's web domains of the approved and restricted tools:
	// "https://host", "https://host:port" or "https://*.host" (every
	// subdomain of host).
	AllowedOrigins []string `yaml:"allowed_origins,omitempty" json:"allowed_origins,omitempty"`
	// ScreenCapture is allow (the default) or block: in enforce mode,
	// block keeps every site from capturing the screen.
	ScreenCapture string `yaml:"screen_capture,omitempty" json:"screen_capture,omitempty"`
	// UnapprovedSite: a browser that holds the camera or microphone lets a
	// service the policy does not approve use them; default monitor.
	UnapprovedSite Action `yaml:"unapproved_site,omitempty" json:"unapproved_site,omitempty"`
	// UnknownSite: it lets only sites outside the catalog and the policy
	// use them; default monitor.
	UnknownSite Action `yaml:"unknown_site,omitempty" json:"unknown_site,omitempty"`
}

// Built-in browser site actions: recorded only. A grant in a browser's
// permissions may be old, so a warning could name a site that is not the
// one in use; a policy that wants the employee told says warn.
const (
	DefaultUnapprovedSiteAction = ActionMonitor
	DefaultUnknownSiteAction    = ActionMonitor
)

// OriginPattern is a web origin, or every subdomain of a host.
type OriginPattern struct {
	// Scheme is https, or http for a loopback host.
	Scheme string
	// Host is lower case, without a trailing dot.
	Host string
	// Port is 0 for the scheme's default.
	Port int
	// Subdomains: the pattern matches every subdomain of Host and Host
	// itself.
	Subdomains bool
}

// String returns the pattern as a policy writes it: "https://host:port",
// "https://*.host".
func (o OriginPattern) String() string {
	h := o.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]" // an IPv6 address
	}
	if o.Subdomains {
		h = "*." + h
	}
	if o.Port != 0 {
		h += ":" + strconv.Itoa(o.Port)
	}
	return o.Scheme + "://" + h
}

// ParseOriginPattern parses "https://host[:port]" or "https://*.host[:port]";
// http is accepted for loopback hosts only (localhost, 127.0.0.1, [::1]),
// the only places a browser lets plain http use the camera.
func ParseOriginPattern(s string) (OriginPattern, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return OriginPattern{}, fmt.Errorf("%q is not an origin like https://meet.example.org", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return OriginPattern{}, fmt.Errorf("%q has more than an origin: leave out user, path, query and fragment", s)
	}
	o := OriginPattern{Scheme: u.Scheme, Host: strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return OriginPattern{}, fmt.Errorf("%q has no valid port", s)
		}
		o.Port = n
	}
	if rest, ok := strings.CutPrefix(o.Host, "*."); ok {
		o.Host, o.Subdomains = rest, true
	}
	switch {
	case o.Scheme == "https":
	case o.Scheme == "http" && loopbackHost(o.Host) && !o.Subdomains:
	default:
		return OriginPattern{}, fmt.Errorf("%q: the scheme must be https (http only for localhost)", s)
	}
	if ip := net.ParseIP(o.Host); ip != nil {
		if o.Subdomains {
			return OriginPattern{}, fmt.Errorf("%q: an IP address has no subdomains", s)
		}
		return o, nil
	}
	if !validHostPattern(o.Host) || strings.HasPrefix(o.Host, "*") {
		return OriginPattern{}, fmt.Errorf("%q: %q is not a host name", s, o.Host)
	}
	return o, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// MatchOrigin reports whether an origin ("https://host[:port]") is one of
// the patterns.
func MatchOrigin(origin string, patterns []OriginPattern) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := 0
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	defaultPort := map[string]int{"https": 443, "http": 80}[u.Scheme]
	for _, o := range patterns {
		if o.Scheme != u.Scheme {
			continue
		}
		want := o.Port
		if want == 0 {
			want = defaultPort
		}
		have := port
		if have == 0 {
			have = defaultPort
		}
		if want != have {
			continue
		}
		if host == o.Host || (o.Subdomains && strings.HasSuffix(host, "."+o.Host)) {
			return true
		}
	}
	return false
}

// BrowsersInForce is what all the policies in force say together about
// meetings in the browser, for one device group.
type BrowsersInForce struct {
	// Mode is enforce when any policy enforces, else monitor.
	Mode BrowserMode
	// Origins may use the camera and microphone. Under enforce, an origin
	// must be allowed by every enforcing policy; in monitor mode it is
	// every policy's, so that the organisation's own sites are known.
	Origins []OriginPattern
	// BlockScreenCapture: a policy that enforces blocks screen capture.
	BlockScreenCapture bool
	// UnapprovedSite and UnknownSite are the strongest actions any policy
	// gives.
	UnapprovedSite, UnknownSite Action
	// Configured is set when any policy has a browsers section.
	Configured bool
}

// BrowserOrigins returns the origins one policy allows for a device of
// group: every web domain (and its subdomains) of the catalog tools the
// policy approves or restricts, and the policy's allowed_origins, sorted
// and unique.
func (p *Policy) BrowserOrigins(group string) []OriginPattern {
	seen := map[string]bool{}
	var out []OriginPattern
	add := func(o OriginPattern) {
		if k := o.String(); !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	if p.cat != nil {
		for _, app := range p.cat.Apps() {
			if len(app.WebDomains) == 0 {
				continue
			}
			d := p.decide(group, app.ID)
			if d.status != StatusApproved && d.status != StatusRestricted {
				continue
			}
			for _, dom := range app.WebDomains {
				add(OriginPattern{Scheme: "https", Host: strings.ToLower(dom), Subdomains: true})
			}
		}
	}
	if p.Browsers != nil {
		for _, s := range p.Browsers.AllowedOrigins {
			if o, err := ParseOriginPattern(s); err == nil {
				add(o)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// BrowserRulesInForce combines the browsers sections of ps for group.
func BrowserRulesInForce(ps []*Policy, group string) BrowsersInForce {
	b := BrowsersInForce{Mode: BrowserMonitor, UnapprovedSite: DefaultUnapprovedSiteAction, UnknownSite: DefaultUnknownSiteAction}
	stronger := func(cur, a Action) Action {
		if actionRank[a] > actionRank[cur] {
			return a
		}
		return cur
	}
	var enforced [][]OriginPattern
	monitored := map[string]OriginPattern{}
	for _, p := range ps {
		if p == nil || p.Browsers == nil {
			continue
		}
		b.Configured = true
		r := p.Browsers
		b.UnapprovedSite = stronger(b.UnapprovedSite, r.UnapprovedSite)
		b.UnknownSite = stronger(b.UnknownSite, r.UnknownSite)
		origins := p.BrowserOrigins(group)
		for _, o := range origins {
			monitored[o.String()] = o
		}
		if r.MediaOrigins == BrowserEnforce {
			b.Mode = BrowserEnforce
			enforced = append(enforced, origins)
			if r.ScreenCapture == "block" {
				b.BlockScreenCapture = true
			}
		}
	}
	if b.Mode == BrowserEnforce {
		b.Origins = enforced[0]
		for _, other := range enforced[1:] {
			in := map[string]bool{}
			for _, o := range other {
				in[o.String()] = true
			}
			var keep []OriginPattern
			for _, o := range b.Origins {
				if in[o.String()] {
					keep = append(keep, o)
				}
			}
			b.Origins = keep
		}
		return b
	}
	for _, o := range monitored {
		b.Origins = append(b.Origins, o)
	}
	sort.Slice(b.Origins, func(i, j int) bool { return b.Origins[i].String() < b.Origins[j].String() })
	return b
}

// SiteFindingKind names what the policy finds of the sites a browser lets
// use the camera or microphone.
type SiteFindingKind string

const (
	// SiteApproved: only approved or restricted services, or the
	// organisation's own sites.
	SiteApproved SiteFindingKind = "approved_site"
	// SiteUnapproved: a service the policy does not approve.
	SiteUnapproved SiteFindingKind = "unapproved_site"
	// SiteUnknown: only sites outside the catalog and the policy.
	SiteUnknown SiteFindingKind = "unknown_site"
	// SiteNone: the browser's state names no site.
	SiteNone SiteFindingKind = "no_site"
)

// SiteFindingKinds lists every kind, in a stable order.
var SiteFindingKinds = []SiteFindingKind{SiteApproved, SiteUnapproved, SiteUnknown, SiteNone}

// SitesSubject is what the agent read of a browser that holds the camera
// or microphone.
type SitesSubject struct {
	Group string
	// Services are the catalog apps whose web domains have the
	// permission.
	Services []string
	// Own counts the policy's allowed origins that have it (outside the
	// catalog), Others every other site.
	Own, Others int
}

// SiteVerdict is one catalog service and the policy's verdict on it.
type SiteVerdict struct {
	AppID   string
	Verdict Verdict
}

// SiteFinding is the policy's judgement of a browser's sites.
type SiteFinding struct {
	Kind     SiteFindingKind
	Services []SiteVerdict
	Action   Action
	// Alternative is the approved tool the policy recommends instead of
	// the first unapproved service, if it names one.
	Alternative string
}

// EvaluateSites judges the sites a browser lets use the camera or
// microphone: every service by EvaluateStrictest (a web service has no
// executable to verify), then the kind: an unapproved service wins, then
// an approved one or an own site, then other sites.
func (b BrowsersInForce) EvaluateSites(ps []*Policy, s SitesSubject) SiteFinding {
	f := SiteFinding{Kind: SiteNone, Action: ActionMonitor}
	approved := s.Own > 0
	for _, id := range s.Services {
		v := EvaluateStrictest(ps, Detection{AppID: id, Verified: true, Group: s.Group})
		f.Services = append(f.Services, SiteVerdict{AppID: id, Verdict: v.Verdict})
		switch v.Verdict {
		case VerdictApproved, VerdictRestricted, VerdictOutdated:
			approved = true
		default:
			if f.Kind != SiteUnapproved {
				f.Kind, f.Action, f.Alternative = SiteUnapproved, b.UnapprovedSite, v.Alternative
			}
		}
	}
	switch {
	case f.Kind == SiteUnapproved:
	case approved:
		f.Kind = SiteApproved
	case s.Others > 0:
		f.Kind, f.Action = SiteUnknown, b.UnknownSite
	}
	return f
}

var siteFindingWire = map[SiteFindingKind]vcguardv1.SiteFindingKind{
	SiteApproved:   vcguardv1.SiteFindingKind_SITE_FINDING_KIND_APPROVED_SITE,
	SiteUnapproved: vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNAPPROVED_SITE,
	SiteUnknown:    vcguardv1.SiteFindingKind_SITE_FINDING_KIND_UNKNOWN_SITE,
	SiteNone:       vcguardv1.SiteFindingKind_SITE_FINDING_KIND_NO_SITE,
}

// Proto returns the kind's value in the wire contract.
func (k SiteFindingKind) Proto() vcguardv1.SiteFindingKind { return siteFindingWire[k] }

// SiteFindingKindFromProto returns the kind of a wire value, "unknown" for
// values this version does not know.
func SiteFindingKindFromProto(p vcguardv1.SiteFindingKind) SiteFindingKind {
	return fromWire(siteFindingWire, p, "unknown")
}

func (v validator) browsers(b *BrowserRules) error {
	if b == nil {
		return nil
	}
	switch b.MediaOrigins {
	case "", BrowserMonitor, BrowserEnforce:
	default:
		return v.fail(fmt.Sprintf("%q is not one of monitor, enforce", b.MediaOrigins), "browsers", "media_origins")
	}
	switch b.ScreenCapture {
	case "", "allow":
	case "block":
		if b.MediaOrigins != BrowserEnforce {
			return v.fail("block needs media_origins: enforce (only then does the agent write browser policies)", "browsers", "screen_capture")
		}
	default:
		return v.fail(fmt.Sprintf("%q is not one of allow, block", b.ScreenCapture), "browsers", "screen_capture")
	}
	if len(b.AllowedOrigins) > maxAllowedEntries {
		return v.fail(fmt.Sprintf("lists %d origins, more than %d", len(b.AllowedOrigins), maxAllowedEntries), "browsers", "allowed_origins")
	}
	for i, s := range b.AllowedOrigins {
		if _, err := ParseOriginPattern(s); err != nil {
			return v.fail(err.Error(), "browsers", "allowed_origins", strconv.Itoa(i))
		}
	}
	for _, a := range []struct {
		name string
		a    Action
	}{{"unapproved_site", b.UnapprovedSite}, {"unknown_site", b.UnknownSite}} {
		if a.a == ActionBlock {
			return v.fail("block is not allowed here (closing the browser would end every page); use media_origins: enforce to keep sites from the camera", "browsers", a.name)
		}
		if err := v.action(a.a, false, "browsers", a.name); err != nil {
			return err
		}
	}
	return nil
}
