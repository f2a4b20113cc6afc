package dashboard

import (
	"net/url"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/server/auth"
)

func TestParseLoginForm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want loginFields // zero: refused
	}{
		{"csrf=c&username=Alice&password=pw&code=123456", loginFields{"c", "alice", "pw", "123456"}},
		{"csrf=c&username=+alice+&password=+pw+&code=123+456", loginFields{"c", "alice", " pw ", "123456"}},
		{"username=alice&password=pw&code=12345", loginFields{}},
		{"username=alice&password=pw&code=1234567", loginFields{}},
		{"username=alice&password=pw&code=12345a", loginFields{}},
		{"username=alice&password=pw&code=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96", loginFields{}}, // full-width digits
		{"username=alice&code=123456", loginFields{}},
		{"username=al+ice&password=pw&code=123456", loginFields{}},
		{"password=pw&code=123456", loginFields{}},
		{"username=alice&username=bob&password=pw&code=123456", loginFields{}},
		{"username=alice&password=pw&password=pw2&code=123456", loginFields{}},
		{"username=alice&password=" + strings.Repeat("x", auth.MaxPasswordLen+1) + "&code=123456", loginFields{}},
		{"token=vcg_admin_x", loginFields{}},
	} {
		form, err := url.ParseQuery(tc.body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseLoginForm(form)
		if tc.want == (loginFields{}) {
			if err == nil {
				t.Errorf("%.60s: accepted as %+v", tc.body, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%.60s: %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}

// FuzzParseLoginForm: whatever the body, parsing does not panic, and an
// accepted form has a well-formed username, a password of bounded length
// and a 6-digit code.
func FuzzParseLoginForm(f *testing.F) {
	for _, s := range []string{
		"csrf=c&username=alice&password=pw&code=123456",
		"username=%00&password=%ff&code=12%203456",
		"username=a&username=b",
		"code=%EF%BC%91",
		";;;&&&===",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		got, err := parseLoginForm(form)
		if err != nil {
			return
		}
		if n, err := auth.NormalizeUsername(got.Username); err != nil || n != got.Username {
			t.Fatalf("accepted username %q", got.Username)
		}
		if got.Password == "" || len(got.Password) > auth.MaxPasswordLen {
			t.Fatalf("accepted a password of %d bytes", len(got.Password))
		}
		if len(got.Code) != 6 || strings.Trim(got.Code, "0123456789") != "" {
			t.Fatalf("accepted code %q", got.Code)
		}
	})
}
