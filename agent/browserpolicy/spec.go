package browserpolicy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MaxOrigins bounds Spec.AllowedOrigins: a policy lists a handful of
// videoconferencing services, and every origin becomes a registry value or a
// JSON string on every laptop.
const MaxOrigins = 256

// Spec is what the browsers must enforce.
type Spec struct {
	// AllowedOrigins are the only origins that may use the camera and the
	// microphone, as "https://host" or "https://host:port", or
	// "http://127.0.0.1:port" (also localhost and [::1]: loopback is a
	// secure context, so a local service may ask). No wildcards, paths,
	// queries or user names: Firefox's Permissions policy takes origins only
	// (see doc.go). Empty means no origin may.
	AllowedOrigins []string
	// AllowedDomains are hosts whose every subdomain may use the camera and
	// the microphone too, over https (a meeting service's region hosts:
	// us02web.zoom.us under zoom.us). Chromium's URL patterns say so
	// ("https://[*.]zoom.us", the [*.] host wildcard of
	// https://support.google.com/chrome/a/answer/9095369 "URL patterns");
	// Firefox's Permissions policy takes exact origins only, so it gets the
	// domain's own https origin and its subdomains keep asking.
	AllowedDomains []string
	// BlockScreenCapture forbids sharing the screen, a window or a tab to
	// every site.
	BlockScreenCapture bool
}

// normalize validates the origins and returns them lower-cased, without
// duplicates, sorted: the same policy renders the same bytes whatever order
// the caller listed it in, so Apply finds a file unchanged.
func (s Spec) normalize() (Spec, error) {
	if len(s.AllowedOrigins) > MaxOrigins {
		return Spec{}, fmt.Errorf("allowed origins: %d given, at most %d", len(s.AllowedOrigins), MaxOrigins)
	}
	if len(s.AllowedOrigins)+len(s.AllowedDomains) > MaxOrigins {
		return Spec{}, fmt.Errorf("allowed origins and domains: %d given, at most %d", len(s.AllowedOrigins)+len(s.AllowedDomains), MaxOrigins)
	}
	out := Spec{BlockScreenCapture: s.BlockScreenCapture, AllowedOrigins: make([]string, 0, len(s.AllowedOrigins))}
	var errs []error
	for i, d := range s.AllowedDomains {
		d = strings.ToLower(d)
		if ip := net.ParseIP(d); ip != nil || !validHostName(d) {
			errs = append(errs, fmt.Errorf("allowed domains[%d]: %q is not a DNS name", i, d))
			continue
		}
		out.AllowedDomains = append(out.AllowedDomains, d)
	}
	slices.Sort(out.AllowedDomains)
	out.AllowedDomains = slices.Compact(out.AllowedDomains)
	for i, o := range s.AllowedOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			errs = append(errs, fmt.Errorf("allowed origins[%d]: %w", i, err))
			continue
		}
		out.AllowedOrigins = append(out.AllowedOrigins, n)
	}
	if err := errors.Join(errs...); err != nil {
		return Spec{}, err
	}
	slices.Sort(out.AllowedOrigins)
	out.AllowedOrigins = slices.Compact(out.AllowedOrigins)
	return out, nil
}

// NormalizeOrigin checks that o is an origin the browsers' policies take
// and returns it lower-cased without a trailing slash: https with a host
// name or IP address and an optional port, or http on a loopback address
// (127.0.0.1, [::1], localhost) with a port.
func NormalizeOrigin(o string) (string, error) {
	if o == "" {
		return "", errors.New("empty origin")
	}
	if len(o) > 300 {
		return "", fmt.Errorf("origin %q...: %d bytes, at most 300", o[:40], len(o))
	}
	for _, r := range o {
		if r <= ' ' || r >= 0x7f {
			return "", fmt.Errorf("origin %q: control, space or non-ASCII character (write an internationalised name in its xn-- form)", o)
		}
	}
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil {
		return "", fmt.Errorf("origin %q: %w", o, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("origin %q: scheme %q, want https (or http on a loopback address)", o, u.Scheme)
	}
	if u.Opaque != "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] only, without user, path, query or fragment", o)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", fmt.Errorf("origin %q: no host", o)
	}
	if strings.Contains(host, "*") {
		return "", fmt.Errorf("origin %q: wildcards are not origins (Firefox takes exact origins only); list each host", o)
	}
	ip, ipErr := netip.ParseAddr(host)
	isIP := ipErr == nil
	if isIP && (ip.Zone() != "" || ip.Is4In6()) {
		return "", fmt.Errorf("origin %q: write an IPv4 address as such, and no IPv6 zone", o)
	}
	if !isIP && !validHostName(host) {
		return "", fmt.Errorf("origin %q: host %q is not a valid DNS name or IP address", o, host)
	}
	if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("origin %q: empty port", o)
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", fmt.Errorf("origin %q: port %q, want 1-65535", o, port)
		}
	}
	loopback := host == "localhost" || (isIP && ip.IsLoopback())
	if scheme == "http" {
		if !loopback {
			return "", fmt.Errorf("origin %q: http is only for loopback addresses (127.0.0.1, [::1], localhost); browsers give the camera to secure contexts only", o)
		}
		if port == "" {
			return "", fmt.Errorf("origin %q: a loopback origin needs its port", o)
		}
	}
	if scheme == "https" && port == "443" {
		port = "" // the same origin, written as the browsers show it
	}
	if isIP && ip.Is6() {
		host = "[" + ip.String() + "]"
	} else if isIP {
		host = ip.String()
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// validHostName reports whether h is a DNS name of letters, digits and
// hyphens in labels of 1-63 characters, 253 at most in all.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
