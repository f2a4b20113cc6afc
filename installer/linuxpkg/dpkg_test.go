package linuxpkg

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/installer/linux"
)

// buildAgent builds a program for this machine as the release builds the
// agent (CGO_ENABLED=0), stamped with version: pkg is the real agent's
// import path or the directory of testdata/fakeagent.
func buildAgent(t *testing.T, pkg, version string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vcguard-agent")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "-ldflags", "-X main.version="+version, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// leftovers are paths the dpkg test would overwrite or delete: it refuses
// to run when any exists.
var leftovers = []string{AgentPath, UnitPath, "/etc/vcguard", "/var/lib/vcguard", "/var/log/vcguard", "/run/vcguard",
	"/etc/systemd/system/vcguard-agent.service", AutostartPath}

// TestDpkgInstallUpgradePurge installs this machine's package for real
// with dpkg, upgrades it to a newer build, removes and purges it. The
// packages carry a small stand-in for the agent (testdata/fakeagent: a
// 20 MB agent takes half a minute to package under -race); the real agent,
// built here too, checks the configuration file.
// It changes the machine, so it runs only as root with
// VCGUARD_REQUIRE_PACKAGING=1 (CI), refuses a machine where vcguard is
// installed or has left files, and purges what it installed whatever
// happens.
func TestDpkgInstallUpgradePurge(t *testing.T) {
	if os.Getenv(requireEnv) != "1" {
		t.Skipf("installs a package on this machine: set %s=1 (and run as root) to let it", requireEnv)
	}
	if os.Geteuid() != 0 {
		t.Skip("installs a package with dpkg: needs root")
	}
	dpkg := tool(t, "dpkg", "dpkg")
	dpkgQuery := tool(t, "dpkg-query", "dpkg")
	dpkgDeb := tool(t, "dpkg-deb", "dpkg")
	analyze := tool(t, "systemd-analyze", "systemd")
	arch := strings.TrimSpace(run(t, dpkg, "--print-architecture"))
	target := installer.Target{GOOS: "linux", GOARCH: runtime.GOARCH}
	if arch != runtime.GOARCH {
		t.Fatalf("dpkg architecture %s, Go architecture %s: cannot install this machine's package", arch, runtime.GOARCH)
	}

	// Safety: never touch a machine where vcguard already is.
	if out, err := exec.Command(dpkgQuery, "-W", "-f", "${db:Status-Abbrev} ${Version}", name).CombinedOutput(); err == nil && !strings.HasPrefix(string(out), "un") {
		t.Fatalf("refusing to run: the package %s is on this machine (%s); the test would replace and purge it", name, strings.TrimSpace(string(out)))
	}
	for _, p := range leftovers {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("refusing to run: %s exists (an agent installed another way?); the test would overwrite or delete it", p)
		}
	}

	const versionA, versionB = "0.0.1-rc.1", "0.0.1"
	start := time.Now()
	agentA := buildAgent(t, "./testdata/fakeagent", versionA)
	agentB := buildAgent(t, "./testdata/fakeagent", versionB)
	realAgent := buildAgent(t, "github.com/vcguard/vcguard/agent/cmd/vcguard-agent", versionB)
	t.Logf("built the programs in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	debA := builtDeb(t, versionA, target, agentA)
	debB := builtDeb(t, versionB, target, agentB)
	t.Logf("built two .deb in %v", time.Since(start).Round(time.Millisecond))
	vA := strings.TrimSpace(run(t, dpkgDeb, "-f", debA, "Version"))
	vB := strings.TrimSpace(run(t, dpkgDeb, "-f", debB, "Version"))
	if err := exec.Command(dpkg, "--compare-versions", vA, "lt", vB).Run(); err != nil {
		t.Fatalf("dpkg does not order %s before %s", vA, vB)
	}

	// Whatever happens from here, the machine ends without the package.
	t.Cleanup(func() {
		out, err := exec.Command(dpkg, "--purge", name).CombinedOutput()
		if err != nil {
			t.Errorf("cleanup: dpkg --purge %s: %v\n%s", name, err, out)
		}
		for _, p := range leftovers {
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("cleanup: %s is still there after the purge", p)
			}
		}
	})
	systemd := isDir("/run/systemd/system")
	wantsLink := "/etc/systemd/system/multi-user.target.wants/vcguard-agent.service"

	// Install A.
	dpkgRun(t, dpkg, "-i", debA)
	checkInstalled(t, dpkgQuery, "ii", vA)
	checkMode(t, AgentPath, 0o755)
	checkMode(t, UnitPath, 0o644)
	checkMode(t, ConfigPath, 0o644)
	checkMode(t, PolicyDir, fs.ModeDir|0o755)
	checkMode(t, AutostartPath, 0o644)
	if got := run(t, AgentPath, "version"); got != "vcguard-agent "+versionA+"\n" {
		t.Errorf("%s version: %q, want %s", AgentPath, got, versionA)
	}
	if systemd {
		if got := strings.TrimSpace(run(t, "systemctl", "is-enabled", "vcguard-agent.service")); got != "enabled" {
			t.Errorf("systemd runs and the service is %q after install, want enabled", got)
		}
	} else if _, err := os.Lstat(wantsLink); err == nil {
		t.Errorf("systemd does not run, yet the package enabled the service (%s)", wantsLink)
	}
	// The unit as installed: systemd's own check, with the real binary.
	if out, err := exec.Command(analyze, "verify", UnitPath).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify %s: %v\n%s", UnitPath, err, out)
	} else if len(out) > 0 {
		t.Logf("systemd-analyze verify: %s", out)
	}
	if out, err := exec.Command(analyze, "security", "--offline=yes", UnitPath).CombinedOutput(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("systemd-analyze security: %s", lines[len(lines)-1])
	}
	checkConfigKeys(t, realAgent)

	// What an enrolled agent and an administrator leave behind.
	state := "/var/lib/vcguard/identity.json"
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, state, `{"test":"kept across the upgrade"}`)
	writeFile(t, "/etc/vcguard/enroll-secret", "secret\n")
	cfg, _ := os.ReadFile(ConfigPath)
	localCfg := string(cfg) + "server: vcguard.example.org:8443\n"
	writeFile(t, ConfigPath, localCfg)

	// Upgrade to B: state and the changed configuration stay.
	dpkgRun(t, dpkg, "-i", debB)
	checkInstalled(t, dpkgQuery, "ii", vB)
	if got := run(t, AgentPath, "version"); got != "vcguard-agent "+versionB+"\n" {
		t.Errorf("after the upgrade, %s version: %q, want %s", AgentPath, got, versionB)
	}
	checkContent(t, state, `{"test":"kept across the upgrade"}`)
	checkContent(t, "/etc/vcguard/enroll-secret", "secret\n")
	checkContent(t, ConfigPath, localCfg)

	// Remove: the program goes, state and configuration stay.
	dpkgRun(t, dpkg, "--remove", name)
	checkInstalled(t, dpkgQuery, "rc", vB)
	for _, p := range []string{AgentPath, UnitPath, AutostartPath} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there after dpkg --remove", p)
		}
	}
	checkContent(t, state, `{"test":"kept across the upgrade"}`)
	checkContent(t, ConfigPath, localCfg)

	// Purge: nothing stays.
	dpkgRun(t, dpkg, "--purge", name)
	if out, err := exec.Command(dpkgQuery, "-W", "-f", "${db:Status-Abbrev}", name).CombinedOutput(); err == nil && !strings.HasPrefix(string(out), "un") {
		t.Errorf("after the purge dpkg still knows %s: %s", name, out)
	}
	for _, p := range []string{"/var/lib/vcguard", "/etc/vcguard", "/var/log/vcguard"} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there after dpkg --purge", p)
		}
	}
}

// dpkgRun runs dpkg with no terminal: a configuration prompt would fail
// the test rather than hang it.
func dpkgRun(t *testing.T, dpkg string, args ...string) {
	t.Helper()
	cmd := exec.Command(dpkg, args...)
	cmd.Stdin = nil
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out)
}

func checkInstalled(t *testing.T, dpkgQuery, status, version string) {
	t.Helper()
	got := run(t, dpkgQuery, "-W", "-f", "${db:Status-Abbrev}|${Version}", name)
	if want := status + " |" + version; got != want {
		t.Errorf("dpkg-query: %q, want %q", got, want)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("installed: %v", err)
		return
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func checkContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if string(b) != want {
		t.Errorf("%s changed: %q, want %q", path, b, want)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// checkConfigKeys checks agent.yaml against the real agent: with every
// commented key uncommented the agent accepts the file, and every key the
// agent knows (it lists them when refusing an unknown one) is in the file.
func checkConfigKeys(t *testing.T, agent string) {
	t.Helper()
	src, err := linux.Files.ReadFile(linux.Config)
	if err != nil {
		t.Fatal(err)
	}
	var uncommented strings.Builder
	documented := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	for sc.Scan() {
		line := sc.Text()
		if k, _, ok := strings.Cut(strings.TrimPrefix(line, "#"), ": "); ok && strings.HasPrefix(line, "#") && !strings.ContainsAny(k, " #") {
			documented[k] = true
			uncommented.WriteString(strings.TrimPrefix(line, "#") + "\n")
		}
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "agent.yaml")
	writeFile(t, full, uncommented.String())
	// Flags win over the file: keep the agent away from the machine's state.
	out, err := exec.Command(agent, "status", "--config", full, "--state-dir", filepath.Join(dir, "state"),
		"--status-file", filepath.Join(dir, "status.json")).CombinedOutput()
	if err != nil {
		t.Errorf("the agent refuses agent.yaml with every key set:\n%s\n%s: %v", uncommented.String(), out, err)
	}
	bogus := filepath.Join(dir, "bogus.yaml")
	writeFile(t, bogus, "no_such_key: 1\n")
	out, _ = exec.Command(agent, "status", "--config", bogus).CombinedOutput()
	_, known, ok := strings.Cut(string(out), "known keys: ")
	if !ok {
		t.Errorf("the agent did not list its keys for an unknown one: %s", out)
		return
	}
	known, _, _ = strings.Cut(known, ")")
	var missing []string
	for _, k := range strings.Split(known, ", ") {
		if !documented[strings.TrimSpace(k)] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("installer/linux/agent.yaml does not document the agent's keys %q", missing)
	}
}
