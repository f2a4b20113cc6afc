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
		binary    bool // the binary only, not its tests
	}{
		{"github.com/vcguard/vcguard/agent/...", []string{"github.com/vcguard/vcguard/server", "modernc.org/sqlite", "github.com/pressly/goose", "github.com/jackc/pgx"}, false},
		{"github.com/vcguard/vcguard/server/...", []string{"github.com/vcguard/vcguard/agent"}, false},
		{"github.com/vcguard/vcguard/policies/...", []string{"github.com/vcguard/vcguard/agent", "github.com/vcguard/vcguard/server"}, false},
		// Footprint: the agent binary does not link the JSON Schema
		// validator (its init alone allocates 1.7 MB); the Go loader applies
		// the schema's rules.
		{"github.com/vcguard/vcguard/agent/cmd/vcguard-agent", []string{"github.com/santhosh-tekuri/jsonschema", "github.com/vcguard/vcguard/policies/schema"}, true},
		// vcguardctl speaks HTTPS and JSON only: no database, no server code.
		{"github.com/vcguard/vcguard/server/cmd/vcguardctl", []string{"github.com/vcguard/vcguard/server/store", "github.com/vcguard/vcguard/server/adminapi", "modernc.org/sqlite", "github.com/jackc/pgx", "google.golang.org/grpc"}, true},
	}
	for _, c := range cases {
		args := []string{"list", "-deps", "-test", c.pkg}
		if c.binary {
			args = []string{"list", "-deps", c.pkg}
		}
		out, err := exec.Command("go", args...).Output()
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
