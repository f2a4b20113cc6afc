package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// dependencyGOOS are the systems the code builds for: the dependency rules
// are checked for each, so an import in a _windows.go or _darwin.go file is
// caught on a Linux machine.
var dependencyGOOS = []string{"linux", "darwin", "windows"}

// TestDependencyBoundaries: the agent never links server code and the server
// never links agent code; shared code lives in policies/ and proto/. The
// agent also must not pull in the server's database driver. Every rule holds
// for every GOOS in dependencyGOOS.
func TestDependencyBoundaries(t *testing.T) {
	cases := []struct {
		pkg       string
		forbidden []string // import path prefixes
		allowed   []string // exceptions to forbidden, exact import paths
		binary    bool     // the binary only, not its tests
	}{
		{"github.com/vcguard/vcguard/agent/...", []string{"github.com/vcguard/vcguard/server", "github.com/pressly/goose", "github.com/jackc/pgx"}, nil, false},
		// No SQL engine in the agent (4 MB and 1.6 MiB at start-up):
		// agent/browsersite reads Firefox's permissions.sqlite with its own
		// small reader, and only its tests check it against modernc.
		{"github.com/vcguard/vcguard/agent/...", []string{"modernc.org/sqlite"}, nil, true},
		{"github.com/vcguard/vcguard/server/...", []string{"github.com/vcguard/vcguard/agent"}, nil, false},
		{"github.com/vcguard/vcguard/policies/...", []string{"github.com/vcguard/vcguard/agent", "github.com/vcguard/vcguard/server"}, nil, false},
		// Footprint: the agent binary does not link the JSON Schema
		// validator (its init alone allocates 1.7 MB); the Go loader applies
		// the schema's rules.
		{"github.com/vcguard/vcguard/agent/cmd/vcguard-agent", []string{"github.com/santhosh-tekuri/jsonschema", "github.com/vcguard/vcguard/policies/schema"}, nil, true},
		// vcguardctl speaks HTTPS and JSON only: no database, no server
		// code; the JSON API's types come from their leaf package.
		// The OpenID Provider that the single sign-on tests start is a
		// test dependency: the server binary only verifies, with go-oidc.
		{"github.com/vcguard/vcguard/server/cmd/vcguard-server", []string{"github.com/zitadel/oidc"}, nil, true},
		{"github.com/vcguard/vcguard/server/cmd/vcguardctl", []string{"github.com/vcguard/vcguard/server/store", "github.com/vcguard/vcguard/server/adminapi", "modernc.org/sqlite", "github.com/jackc/pgx", "google.golang.org/grpc"}, []string{"github.com/vcguard/vcguard/server/adminapi/apitypes"}, true},
	}
	for _, goos := range dependencyGOOS {
		t.Run(goos, func(t *testing.T) {
			for _, c := range cases {
				deps := goListDeps(t, goos, c.pkg, !c.binary)
				for _, f := range c.forbidden {
					var bad []string
					for _, dep := range deps {
						if strings.HasPrefix(dep, f) && !slices.Contains(c.allowed, dep) {
							bad = append(bad, dep)
						}
					}
					if len(bad) > 0 {
						first := bad[0]
						if slices.Contains(bad, f) {
							first = f
						}
						t.Errorf("GOOS=%s: %s depends on %s (%d package(s) under %s; GOOS=%s go list -deps shows the path)", goos, c.pkg, first, len(bad), f, goos)
					}
				}
			}
		})
	}
}

// TestDependencyListPerGOOS guards the test above: the lists it checks are
// those of the GOOS it names (the agent links the Windows system packages
// only when built for Windows), not the host's each time.
func TestDependencyListPerGOOS(t *testing.T) {
	const agent = "github.com/vcguard/vcguard/agent/cmd/vcguard-agent"
	for _, goos := range dependencyGOOS {
		deps := goListDeps(t, goos, agent, false)
		if got, want := slices.Contains(deps, "golang.org/x/sys/windows"), goos == "windows"; got != want {
			t.Errorf("GOOS=%s: the agent links golang.org/x/sys/windows: %v, want %v", goos, got, want)
		}
	}
}

// goListDeps lists the packages pkg depends on when built for goos (with
// their tests' dependencies if tests is set), without cgo as the releases
// are built.
func goListDeps(t *testing.T, goos, pkg string, tests bool) []string {
	t.Helper()
	args := []string{"list", "-deps"}
	if tests {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=%s go %s: %v\n%s", goos, strings.Join(cmd.Args[1:], " "), err, stderr.String())
	}
	return strings.Fields(string(out))
}

// TestShippedBinariesLeaveOutGRPCTracing: the agent and the server are
// shipped built with the grpcnotrace tag (Makefile BUILD_TAGS,
// installer/cmd/vcguard-package), which leaves gRPC's request tracing and
// its HTML templates out of the binary (4 MB, about 3 MiB of the idle
// agent's RSS). A gRPC upgrade that stops honouring the tag fails here.
func TestShippedBinariesLeaveOutGRPCTracing(t *testing.T) {
	for pkg, forbidden := range map[string][]string{
		"github.com/vcguard/vcguard/agent/cmd/vcguard-agent": {"golang.org/x/net/trace", "html/template"},
		// The server's dashboard has templates of its own.
		"github.com/vcguard/vcguard/server/cmd/vcguard-server": {"golang.org/x/net/trace"},
	} {
		cmd := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -tags grpcnotrace -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if slices.Contains(forbidden, dep) {
				t.Errorf("%s built with grpcnotrace still links %s", pkg, dep)
			}
		}
	}
}
