// Package proxyaddr finds a request's client address behind trusted
// reverse proxies. Only a request that arrives from a trusted proxy has
// its forwarding headers believed; the client is then the nearest address
// in the chain that is not a trusted proxy (the right-most untrusted one),
// so a client cannot choose its own address by sending the header itself.
//
// Written by hand: the rule is a dozen lines over net/netip, and the
// libraries that do it bring a whole web framework or believe the
// left-most address (which the client controls).
package proxyaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is a set of proxy networks.
type Trusted []netip.Prefix

// Parse reads a comma-separated list of CIDRs or addresses ("10.0.0.0/8,
// 192.0.2.7"); an empty list trusts nothing.
func Parse(list string) (Trusted, error) {
	var t Trusted
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", s)
			}
			s = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", s)
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("trusted proxy %q: trusting every address would let any client choose its own", s)
		}
		t = append(t, p.Masked())
	}
	return t, nil
}

// trusts reports whether a is one of the proxies.
func (t Trusted) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client's address for a request that came from peer
// (http.Request.RemoteAddr) with header h: peer itself unless peer is a
// trusted proxy, else the right-most address of Forwarded (RFC 7239) or,
// without it, X-Forwarded-For that is not a trusted proxy. A malformed
// entry stops the walk at the last address known good. The result is a
// host:port like RemoteAddr (port 0 when the header gave none).
func (t Trusted) Client(peer string, h http.Header) string {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		return peer
	}
	a, err := netip.ParseAddr(host)
	if err != nil || len(t) == 0 || !t.trusts(a) {
		return peer
	}
	chain := forwardedFor(h)
	client := peer
	for i := len(chain) - 1; i >= 0; i-- {
		hop, ok := parseHop(chain[i])
		if !ok {
			break
		}
		client = net.JoinHostPort(hop.Addr().Unmap().String(), fmt.Sprint(hop.Port()))
		if !t.trusts(hop.Addr()) {
			break
		}
	}
	return client
}

// forwardedFor lists the hop addresses, nearest last: Forwarded's for=
// parameters when that header is present, else X-Forwarded-For.
func forwardedFor(h http.Header) []string {
	var out []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, line := range fwd {
			for _, elem := range strings.Split(line, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						out = append(out, strings.Trim(v, `"`))
					}
				}
			}
		}
		return out
	}
	for _, line := range h.Values("X-Forwarded-For") {
		for _, s := range strings.Split(line, ",") {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

// parseHop reads one hop: an address, [v6]:port, v4:port, or v6.
func parseHop(s string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, true
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 0), true
	}
	return netip.AddrPort{}, false
}

// Handler sets each request's RemoteAddr to its client's address before
// next sees it, so lockouts, the audit log and the logs use the client
// behind the proxies, not the proxy. With no trusted proxy it is next.
func (t Trusted) Handler(next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := t.Client(r.RemoteAddr, r.Header); c != r.RemoteAddr {
			r2 := r.Clone(r.Context())
			r2.RemoteAddr = c
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}
