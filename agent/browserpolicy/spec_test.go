package browserpolicy

import (
	"strings"
	"testing"
)

func TestNormalizeOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "https://meet.example.org", want: "https://meet.example.org"},
		{in: "HTTPS://Meet.Example.ORG/", want: "https://meet.example.org"},
		{in: "https://bbb.example.org:8443", want: "https://bbb.example.org:8443"},
		{in: "https://bbb.example.org:443", want: "https://bbb.example.org"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://localhost:3000", want: "http://localhost:3000"},
		{in: "http://[::1]:3000", want: "http://[::1]:3000"},
		{in: "https://[2001:db8::1]", want: "https://[2001:db8::1]"},
		{in: "https://xn--bcher-kva.example", want: "https://xn--bcher-kva.example"},
		{in: "", err: "empty origin"},
		{in: "meet.example.org", err: "scheme"},
		{in: "ftp://meet.example.org", err: "scheme"},
		{in: "http://meet.example.org", err: "http is only for loopback"},
		{in: "http://127.0.0.1", err: "needs its port"},
		{in: "https://meet.example.org/room", err: "without user, path"},
		{in: "https://meet.example.org?x=1", err: "without user, path"},
		{in: "https://meet.example.org#x", err: "without user, path"},
		{in: "https://user@meet.example.org", err: "without user, path"},
		{in: "https://*.example.org", err: "wildcards"},
		{in: "https://[*.]example.org", err: ""},
		{in: "https://meet.example.org:0", err: "port"},
		{in: "https://meet.example.org:65536", err: "port"},
		{in: "https://meet.example.org:", err: "empty port"},
		{in: "https://meet.example.org:080", err: "port"},
		{in: "https://bücher.example", err: "non-ASCII"},
		{in: "https://meet example.org", err: "space"},
		{in: "https://-bad.example.org", err: "not a valid DNS name"},
		{in: "https://bad_.example.org", err: "not a valid DNS name"},
		{in: "https://example.org.", err: "not a valid DNS name"},
		{in: "https://[::ffff:127.0.0.1]", err: "IPv4 address as such"},
		{in: "https://" + strings.Repeat("a", 300), err: "at most 300"},
		{in: "https://", err: "want scheme://host"},
	} {
		got, err := NormalizeOrigin(tc.in)
		switch {
		case tc.want != "" && err != nil:
			t.Errorf("NormalizeOrigin(%q): %v", tc.in, err)
		case tc.want != "" && got != tc.want:
			t.Errorf("NormalizeOrigin(%q) = %q, want %q", tc.in, got, tc.want)
		case tc.want == "" && err == nil:
			t.Errorf("NormalizeOrigin(%q) = %q, want an error", tc.in, got)
		case tc.want == "" && !strings.Contains(err.Error(), tc.err):
			t.Errorf("NormalizeOrigin(%q): %v, want it to say %q", tc.in, err, tc.err)
		case tc.want == "" && !strings.Contains(err.Error(), tc.in[:min(len(tc.in), 40)]):
			t.Errorf("NormalizeOrigin(%q): %v, want it to name the origin", tc.in, err)
		}
	}
}

// The spec renders the same whatever order and case the origins come in.
func TestSpecNormalize(t *testing.T) {
	t.Parallel()
	s, err := Spec{AllowedOrigins: []string{"https://meet.example.org", "https://BBB.example.org/", "https://meet.example.org"}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.AllowedOrigins, " "); got != "https://bbb.example.org https://meet.example.org" {
		t.Errorf("origins %q, want sorted, lower-case, once each", got)
	}
	_, err = Spec{AllowedOrigins: []string{"https://ok.example.org", "http://meet.example.org", "x"}}.normalize()
	if err == nil || !strings.Contains(err.Error(), "allowed origins[1]") || !strings.Contains(err.Error(), "allowed origins[2]") {
		t.Errorf("two bad origins: %v, want both named by index", err)
	}
	many := make([]string, MaxOrigins+1)
	for i := range many {
		many[i] = "https://example.org"
	}
	if _, err := (Spec{AllowedOrigins: many}).normalize(); err == nil {
		t.Errorf("%d origins accepted, want at most %d", len(many), MaxOrigins)
	}
}
