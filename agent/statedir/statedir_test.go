package statedir

import (
	"strings"
	"testing"
)

// Every entry has a distinct plain name, and secrets are owner-only.
func TestFiles(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Files() {
		if f.Name == "" || strings.ContainsAny(f.Name, `/\`) || seen[f.Name] {
			t.Errorf("entry %q: empty, not a plain name, or listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Owner == "" || f.What == "" {
			t.Errorf("entry %q: no owner or description", f.Name)
		}
	}
	for _, f := range []File{ClientKey, EnrollSecret} {
		if f.Mode.Perm()&0o077 != 0 {
			t.Errorf("%s is a secret but mode %v lets others read it", f.Name, f.Mode)
		}
	}
	if got := Policy.Path("/var/lib/vcguard"); got != "/var/lib/vcguard/policy.json" && got != `\var\lib\vcguard\policy.json` {
		t.Errorf("Path = %q", got)
	}
}
