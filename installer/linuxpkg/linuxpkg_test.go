package linuxpkg

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/vcguard/vcguard/installer"
	"github.com/vcguard/vcguard/installer/linux"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var amd64 = installer.Target{GOOS: "linux", GOARCH: "amd64"}

// fakeRelease is a release in dir whose "agents" are small scripts: enough
// for everything but running the agent.
func fakeRelease(dir, version string) (installer.Release, error) {
	agents := map[installer.Target]string{}
	for _, tg := range Targets {
		p := filepath.Join(dir, "vcguard-agent-"+tg.GOARCH)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho vcguard-agent "+tg.GOARCH+"\n"), 0o755); err != nil {
			return installer.Release{}, err
		}
		agents[tg] = p
	}
	return installer.Release{Version: version, Agent: agents, OutDir: filepath.Join(dir, "dist")}, nil
}

// fakePackages builds the packages of a fake 1.4.0-rc.1 release once per
// test binary, in fakeDir (removed by TestMain).
var fakePackages = sync.OnceValues(func() (installer.Release, error) {
	dir, err := os.MkdirTemp("", "vcguard-linuxpkg-test-")
	if err != nil {
		return installer.Release{}, err
	}
	fakeDir = dir
	r, err := fakeRelease(dir, "1.4.0-rc.1")
	if err != nil {
		return r, err
	}
	_, err = Build(r)
	return r, err
})

var fakeDir string

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fakeDir != "" {
		os.RemoveAll(fakeDir)
	}
	os.Exit(code)
}

func builtFake(t *testing.T) installer.Release {
	t.Helper()
	r, err := fakePackages()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}

func TestPackageVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, core, pre string }{
		{"1.4.0", "1.4.0", ""},
		{"1.4.0-rc.1", "1.4.0", "rc.1"},
		{"0.0.1-beta.2.x", "0.0.1", "beta.2.x"},
	} {
		core, pre := PackageVersion(tc.in)
		if core != tc.core || pre != tc.pre {
			t.Errorf("PackageVersion(%q) = %q, %q; want %q, %q", tc.in, core, pre, tc.core, tc.pre)
		}
	}
}

func TestBuildNames(t *testing.T) {
	t.Parallel()
	r := builtFake(t)
	got, err := os.ReadDir(r.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Name())
	}
	want := []string{
		"vcguard-agent-1.4.0-rc.1.aarch64.rpm", "vcguard-agent-1.4.0-rc.1.x86_64.rpm",
		"vcguard-agent_1.4.0-rc.1_amd64.deb", "vcguard-agent_1.4.0-rc.1_arm64.deb",
	}
	if !slices.Equal(names, want) {
		t.Errorf("%s holds %q, want %q", r.OutDir, names, want)
	}
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	r, err := fakeRelease(t.TempDir(), "1.4.0")
	if err != nil {
		t.Fatal(err)
	}
	delete(r.Agent, installer.Target{GOOS: "linux", GOARCH: "arm64"})
	if _, err := Build(r); err == nil || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("Build without an arm64 agent: %v, want an error naming linux/arm64", err)
	}
	r.Agent[installer.Target{GOOS: "linux", GOARCH: "arm64"}] = r.Agent[amd64]
	r.Version = "v1.4"
	if _, err := Build(r); err == nil || !strings.Contains(err.Error(), "MAJOR.MINOR.PATCH") {
		t.Errorf("Build of version v1.4: %v, want a version error", err)
	}
	if _, err := os.Stat(r.OutDir); err == nil {
		t.Errorf("a refused release created %s", r.OutDir)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from what the package ships (go test -update rewrites it; review the diff):\n%s",
			path, udiff.Unified(path, "built", string(want), got))
	}
}

// TestDebGolden pins what the amd64 .deb ships: the systemd unit byte for
// byte, the control file and the list of files with owners and modes.
func TestDebGolden(t *testing.T) {
	t.Parallel()
	r := builtFake(t)
	d, err := readDeb(filepath.Join(r.OutDir, FileName(Deb, r.Version, amd64)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"debian-binary", "control.tar.gz", "data.tar.gz"}; !slices.Equal(d.Members, want) {
		t.Errorf("ar members %q, want %q", d.Members, want)
	}
	unit, ok := d.file(UnitPath)
	if !ok {
		t.Fatalf("no %s in the package", UnitPath)
	}
	golden(t, "vcguard-agent.service.golden", string(unit.Data))

	control := string(d.Control["control"].Data)
	// Installed-Size follows the fake agent's size; the rest is fixed.
	control = regexp.MustCompile(`(?m)^Installed-Size: \d+$`).ReplaceAllString(control, "Installed-Size: N")
	golden(t, "control.golden", control)

	var list strings.Builder
	for _, f := range d.Data {
		size := fmt.Sprint(len(f.Data))
		if f.Name == "."+AgentPath {
			size = "(agent)"
		}
		fmt.Fprintf(&list, "%04o %d:%d %c %s %s\n", f.Mode, f.Uid, f.Gid, f.Type, f.Name, size)
	}
	golden(t, "deb-contents.golden", list.String())

	if got, want := string(d.Control["conffiles"].Data), ConfigPath+"\n"; got != want {
		t.Errorf("conffiles %q, want %q", got, want)
	}
	// The shipped files are the reviewed ones.
	for path, name := range map[string]string{UnitPath: linux.Unit, ConfigPath: linux.Config, AutostartPath: linux.NotifierAutostart} {
		f, _ := d.file(path)
		src, _ := linux.Files.ReadFile(name)
		if string(f.Data) != string(src) {
			t.Errorf("%s in the package differs from installer/linux/%s", path, name)
		}
	}
	for script, name := range map[string]string{"postinst": linux.PostInstall, "prerm": linux.PreRemove, "postrm": linux.PostRemove} {
		f, ok := d.Control[script]
		src, _ := linux.Files.ReadFile(name)
		if !ok || string(f.Data) != string(src) || f.Mode&0o111 == 0 {
			t.Errorf("control %s: present %v, mode %04o, same as installer/linux/%s %v", script, ok, f.Mode, name, string(f.Data) == string(src))
		}
	}
}

// unitSettings parses a systemd unit into section → key → values, and
// reports a setting that has no comment just above it (each directive
// says why it is there).
func unitSettings(text string) (map[string]map[string][]string, []string) {
	settings := map[string]map[string][]string{}
	var undocumented []string
	section, commented := "", false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			commented = false
		case strings.HasPrefix(line, "#"):
			commented = true
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			settings[section] = map[string][]string{}
			commented = false
		default:
			k, v, _ := strings.Cut(line, "=")
			settings[section][k] = append(settings[section][k], v)
			if !commented && section == "Service" {
				undocumented = append(undocumented, k)
			}
			commented = false
		}
	}
	return settings, undocumented
}

func TestUnit(t *testing.T) {
	t.Parallel()
	text, err := linux.Files.ReadFile(linux.Unit)
	if err != nil {
		t.Fatal(err)
	}
	s, undocumented := unitSettings(string(text))
	if len(undocumented) > 0 {
		t.Errorf("directives without a comment saying why: %q", undocumented)
	}
	svc := s["Service"]
	for k, want := range map[string]string{
		"ExecStart":               AgentPath + " run --service --config " + ConfigPath,
		"Restart":                 "always",
		"RestartSec":              "5",
		"ProtectSystem":           "strict",
		"StateDirectory":          "vcguard",
		"StateDirectoryMode":      "0700",
		"RuntimeDirectory":        "vcguard",
		"RuntimeDirectoryMode":    "0755",
		"NoNewPrivileges":         "yes",
		"ProtectHome":             "read-only",
		"LogsDirectory":           "vcguard",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
	} {
		if got := svc[k]; len(got) != 1 || got[0] != want {
			t.Errorf("[Service] %s = %q, want %q", k, got, want)
		}
	}
	// What the agent does as root and must keep doing under the unit.
	caps := strings.Fields(strings.Join(svc["CapabilityBoundingSet"], " "))
	for _, c := range []string{"CAP_NET_ADMIN", "CAP_KILL", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SETUID", "CAP_SETGID", "CAP_BPF", "CAP_PERFMON"} {
		if !slices.Contains(caps, c) {
			t.Errorf("CapabilityBoundingSet lacks %s", c)
		}
	}
	// Settings that would break the agent (see the unit's comments).
	for _, k := range []string{"PrivateTmp", "PrivateDevices", "ProtectProc", "ProcSubset", "ProtectClock", "MemoryDenyWriteExecute", "SystemCallFilter", "User", "DynamicUser", "PrivateUsers", "InaccessiblePaths"} {
		if v, ok := svc[k]; ok {
			t.Errorf("[Service] %s=%q would break the agent", k, v)
		}
	}
	if got := s["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("[Install] WantedBy = %q", got)
	}
	// The agent's Linux defaults live where the unit lets it write.
	cfg, _ := linux.Files.ReadFile(linux.Config)
	for _, line := range []string{"#state_dir: /var/lib/vcguard", "#status_file: /run/vcguard/status.json", "#notify_socket: /run/vcguard/notify.sock", "#log_file: /var/log/vcguard/agent.log"} {
		if !strings.Contains(string(cfg), "\n"+line+"\n") {
			t.Errorf("agent.yaml lacks %q", line)
		}
	}
}
