package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyBoundaries: the agent never links server code and the server
// never links agent code; shared code lives in policies/ and proto/. The
// agent also must not pull in the server's database driver.
func TestDependencyBoundaries(t *testing.T) {
	cases := []struct {
		pkg       string
		forbidden []string
	}{
		{"github.com/vcguard/vcguard/agent/...", []string{"github.com/vcguard/vcguard/server", "modernc.org/sqlite", "github.com/pressly/goose"}},
		{"github.com/vcguard/vcguard/server/...", []string{"github.com/vcguard/vcguard/agent"}},
		{"github.com/vcguard/vcguard/policies/...", []string{"github.com/vcguard/vcguard/agent", "github.com/vcguard/vcguard/server"}},
	}
	for _, c := range cases {
		out, err := exec.Command("go", "list", "-deps", "-test", c.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", c.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range c.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", c.pkg, dep)
				}
			}
		}
	}
}
