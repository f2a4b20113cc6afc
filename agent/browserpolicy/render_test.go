package browserpolicy

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from what was rendered:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var renderCases = []struct {
	name string
	spec Spec
}{
	{"two-origins", Spec{AllowedOrigins: []string{"https://meet.example.org", "https://bbb.example.org"}}},
	{"two-origins-no-screen", Spec{AllowedOrigins: []string{"https://meet.example.org", "https://bbb.example.org"}, BlockScreenCapture: true}},
	{"none", Spec{}},
}

func TestRender(t *testing.T) {
	t.Parallel()
	for _, tc := range renderCases {
		s, err := tc.spec.normalize()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "chromium-"+tc.name+".json", chromiumJSON(s))
		golden(t, "firefox-"+tc.name+".json", firefoxJSON(s))
		var reg strings.Builder
		for _, f := range []struct {
			root string
			vals []regValue
		}{
			{`HKLM\SOFTWARE\Policies\Google\Chrome`, chromiumRegistry(s)},
			{`HKLM\SOFTWARE\Policies\Mozilla\Firefox`, firefoxRegistry(s)},
		} {
			for _, v := range f.vals {
				reg.WriteString(f.root + `\` + v.rel() + " = " + string(v.encode()) + "\n")
			}
		}
		golden(t, "registry-"+tc.name+".txt", []byte(reg.String()))
	}
}

// A domain allowed with its subdomains is a [*.] pattern for Chromium and
// the domain's own origin for Firefox, which takes no wildcard.
func TestAllowedDomainsRender(t *testing.T) {
	s, err := Spec{AllowedOrigins: []string{"https://bbb.example.org"}, AllowedDomains: []string{"Zoom.us", "zoom.us"}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := chromiumURLs(s), []string{"https://[*.]zoom.us", "https://bbb.example.org"}; !slices.Equal(got, want) {
		t.Errorf("chromium URLs = %q, want %q", got, want)
	}
	if got, want := firefoxOrigins(s), []string{"https://bbb.example.org", "https://zoom.us"}; !slices.Equal(got, want) {
		t.Errorf("firefox origins = %q, want %q", got, want)
	}
	for _, bad := range []string{"*.zoom.us", "10.0.0.1", "https://zoom.us", "zo om.us", ""} {
		if _, err := (Spec{AllowedDomains: []string{bad}}).normalize(); err == nil {
			t.Errorf("domain %q accepted", bad)
		}
	}
}
