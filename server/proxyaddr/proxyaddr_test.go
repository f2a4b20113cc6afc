package proxyaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	tr, err := Parse("10.0.0.0/8, 192.0.2.7, 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		h          http.Header
		want       string
	}{
		{"no proxy: the header is ignored", "198.51.100.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "198.51.100.1:5000"},
		{"trusted proxy, one client", "10.1.2.3:443", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9:0"},
		{"client spoofs a left-most entry", "10.1.2.3:443", http.Header{"X-Forwarded-For": {"1.2.3.4, 203.0.113.9"}}, "203.0.113.9:0"},
		{"two trusted proxies", "10.1.2.3:443", http.Header{"X-Forwarded-For": {"203.0.113.9, 192.0.2.7"}}, "203.0.113.9:0"},
		{"every hop trusted: the left-most", "10.1.2.3:443", http.Header{"X-Forwarded-For": {"10.9.9.9"}}, "10.9.9.9:0"},
		{"several header lines", "10.1.2.3:443", http.Header{"X-Forwarded-For": {"1.1.1.1", "203.0.113.9"}}, "203.0.113.9:0"},
		{"malformed nearest hop: the proxy", "10.1.2.3:443", http.Header{"X-Forwarded-For": {"203.0.113.9, nonsense"}}, "10.1.2.3:443"},
		{"Forwarded wins over X-Forwarded-For", "10.1.2.3:443", http.Header{"Forwarded": {`for=203.0.113.5;proto=https`}, "X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.5:0"},
		{"Forwarded IPv6 with port", "10.1.2.3:443", http.Header{"Forwarded": {`for="[2001:db9::1]:4711"`}}, "[2001:db9::1]:4711"},
		{"Forwarded list", "10.1.2.3:443", http.Header{"Forwarded": {`for=1.1.1.1, for=203.0.113.5`}}, "203.0.113.5:0"},
		{"IPv6 proxy", "[2001:db8::5]:443", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9:0"},
		{"no header from a proxy", "10.1.2.3:443", http.Header{}, "10.1.2.3:443"},
	} {
		if got := tr.Client(c.peer, c.h); got != c.want {
			t.Errorf("%s: Client(%s, %v) = %s, want %s", c.name, c.peer, c.h, got, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/33", "proxy.example", "10.0.0.1/x"} {
		if _, err := Parse(s); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("Parse(%q) = %v, want an error naming the entry", s, err)
		}
	}
	if tr, err := Parse(""); err != nil || len(tr) != 0 {
		t.Errorf("Parse(\"\") = %v, %v", tr, err)
	}
}

func FuzzClient(f *testing.F) {
	f.Add("10.1.2.3:443", "203.0.113.9, 192.0.2.7", `for="[2001:db9::1]:4711"`)
	tr, _ := Parse("10.0.0.0/8,192.0.2.7")
	f.Fuzz(func(t *testing.T, peer, xff, fwd string) {
		h := http.Header{}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			h.Set("Forwarded", fwd)
		}
		got := tr.Client(peer, h)
		host, _, err := net.SplitHostPort(peer)
		a, perr := netip.ParseAddr(host)
		if (err != nil || perr != nil || !tr.trusts(a)) && got != peer {
			t.Errorf("an untrusted peer %q became %q", peer, got)
		}
		if got != peer {
			if _, err := netip.ParseAddrPort(got); err != nil {
				t.Errorf("client %q of peer %q is not an address and port: %v", got, peer, err)
			}
		}
	})
}
