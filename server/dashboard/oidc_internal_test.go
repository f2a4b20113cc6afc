package dashboard

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vcguard/vcguard/server/oidclogin"
	"golang.org/x/oauth2"
)

func TestPendingCookie(t *testing.T) {
	t.Parallel()
	p := oidclogin.Pending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	got, ok := decodePending(encodePending(p))
	if !ok || got != p {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	v := encodePending(p)
	for name, bad := range map[string]string{
		"empty": "", "two parts": p.State + "." + p.Nonce, "four parts": v + ".x", "short part": "abc." + p.Nonce + "." + p.Verifier,
		"padding": p.State + "=." + p.Nonce + "." + p.Verifier, "space": p.State + " ." + p.Nonce + "." + p.Verifier,
	} {
		if _, ok := decodePending(bad); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecodePending: whatever the cookie holds, decoding does not panic,
// and what it accepts is three base64url parts of 32 to 128 characters
// that encode back to the same value.
func FuzzDecodePending(f *testing.F) {
	f.Add(strings.Repeat("a", 43) + "." + strings.Repeat("b", 43) + "." + strings.Repeat("c", 43))
	f.Add("..")
	f.Add("a.b.c.d")
	f.Add(strings.Repeat("é", 40) + "." + strings.Repeat("b", 43) + "." + strings.Repeat("c", 43))
	f.Fuzz(func(t *testing.T, v string) {
		p, ok := decodePending(v)
		if !ok {
			return
		}
		if encodePending(p) != v {
			t.Fatalf("%q decoded to %+v, which encodes differently", v, p)
		}
		for _, s := range []string{p.State, p.Nonce, p.Verifier} {
			if len(s) < 32 || len(s) > 128 || strings.ContainsAny(s, ".=+/ ") {
				t.Fatalf("accepted part %q", s)
			}
		}
	})
}

// FuzzPrintable: what the callback's error parameter and a provider's
// claim values become in the audit log and on the page is valid UTF-8
// without control characters, and at most n bytes.
func FuzzPrintable(f *testing.F) {
	f.Add("access_denied", 64)
	f.Add("a\x00b\nc\x7f", 3)
	f.Add("\xff\xfe日本語", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<12 {
			return
		}
		got := printable(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("printable(%q, %d) = %q", s, n, got)
		}
	})
}
