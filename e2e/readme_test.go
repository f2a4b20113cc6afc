package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeSection returns the README's text under heading (a whole line
// such as "### vcguard-server") up to the next heading of the same or a
// higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q", heading)
	}
	level := strings.Count(strings.Fields(heading)[0], "#")
	for _, line := range strings.SplitAfter(rest, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Trim(f[0], "#") == "" && len(f[0]) <= level {
			return rest[:strings.Index(rest, line)]
		}
	}
	return rest
}

var readmeFlag = regexp.MustCompile("`(?:[a-z-]+ )*--([a-z][a-z0-9-]*)")

// Every flag the README's command-line reference names for a binary is a
// flag of that binary (its --help, and for the agent and vcguardctl the
// help of their commands), so a renamed or removed flag fails here.
func TestReadmeFlagsExist(t *testing.T) {
	t.Parallel()
	helps := map[string][][]string{
		"vcguard-server": {{"--help"}, {"admin", "add", "-h"}},
		"vcguard-agent":  {{"run", "-h"}, {"status", "-h"}, {"enroll", "-h"}, {"enroll-secret", "-h"}, {"notifier", "-h"}, {"install", "-h"}, {"remove-browser-policies", "-h"}},
		"vcguardctl":     {{"--help"}, {"secrets", "create", "-h"}, {"policy", "diff", "-h"}, {"events", "-h"}, {"audit", "-h"}, {"tokens", "create", "-h"}, {"admins", "create", "-h"}, {"admins", "reset-password", "-h"}},
	}
	for bin, cmds := range helps {
		var help strings.Builder
		for _, args := range cmds {
			out, _ := exec.Command(filepath.Join(binDir, bin), args...).CombinedOutput()
			help.Write(out)
		}
		known := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)(?:^|\s)--?([a-z][a-z0-9-]*)`).FindAllStringSubmatch(help.String(), -1) {
			known[m[1]] = true
		}
		var missing []string
		for _, m := range readmeFlag.FindAllStringSubmatch(readmeSection(t, "### "+bin), -1) {
			if !known[m[1]] && !slices.Contains(missing, m[1]) {
				missing = append(missing, m[1])
			}
		}
		if len(missing) > 0 {
			t.Errorf("README's %s section names flags %s has none of: --%s", bin, bin, strings.Join(missing, ", --"))
		}
	}
}
