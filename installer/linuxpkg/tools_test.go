package linuxpkg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/installer"
)

// requireEnv set to 1 (CI) turns a missing packaging tool from a skip into
// a failure, and lets the dpkg test change the machine when run as root.
const requireEnv = "VCGUARD_REQUIRE_PACKAGING"

// tool returns the path of a packaging tool, skipping the test where it is
// missing unless requireEnv asks for it.
func tool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s=1 and %s is missing (Debian package %s): %v", requireEnv, name, debianPackage, err)
		}
		t.Skipf("%s not installed (Debian package %s; set %s=1 to fail instead)", name, debianPackage, requireEnv)
	}
	return p
}

// run runs a command and returns its standard output, failing the test
// with its standard error when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// field returns a "Name : value" or "Name: value" line's value.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*:[ \t]*(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Errorf("no %s in:\n%s", name, out)
		return ""
	}
	return strings.TrimSpace(m[1])
}

func TestDpkgDeb(t *testing.T) {
	t.Parallel()
	dpkgDeb := tool(t, "dpkg-deb", "dpkg")
	r := builtFake(t)
	for _, tg := range Targets {
		deb := filepath.Join(r.OutDir, FileName(Deb, r.Version, tg))
		info := run(t, dpkgDeb, "-I", deb)
		for name, want := range map[string]string{
			"Package": "vcguard-agent", "Version": "1.4.0~rc.1-1", "Architecture": tg.GOARCH,
			"Section": "admin", "Recommends": "pipewire-bin | pulseaudio-utils",
		} {
			if got := field(t, info, name); got != want {
				t.Errorf("%s: %s: %q, want %q", filepath.Base(deb), name, got, want)
			}
		}
		for _, script := range []string{"postinst", "prerm", "postrm", "conffiles"} {
			if !regexp.MustCompile(`(?m)^\s+\d+ bytes,\s+\d+ lines\s+\*?\s+` + script + `\b`).MatchString(info) {
				t.Errorf("%s: no %s in the control archive:\n%s", filepath.Base(deb), script, info)
			}
		}
		if got := run(t, dpkgDeb, "--ctrl-tarfile", deb); got == "" {
			t.Errorf("empty control archive")
		}
		list := run(t, dpkgDeb, "-c", deb)
		for _, want := range []string{
			`-rwxr-xr-x root/root .* \./usr/bin/vcguard-agent`,
			`-rw-r--r-- root/root .* \./usr/lib/systemd/system/vcguard-agent\.service`,
			`-rw-r--r-- root/root .* \./etc/vcguard/agent\.yaml`,
			`drwxr-xr-x root/root .* \./etc/vcguard/policy\.d/`,
			`-rw-r--r-- root/root .* \./etc/xdg/autostart/vcguard-notifier\.desktop`,
		} {
			if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(list) {
				t.Errorf("%s: dpkg-deb -c has no line like %s:\n%s", filepath.Base(deb), want, list)
			}
		}
		if conffiles := run(t, dpkgDeb, "-I", deb, "conffiles"); conffiles != ConfigPath+"\n" {
			t.Errorf("conffiles %q, want %s", conffiles, ConfigPath)
		}
	}
}

func TestRPMQuery(t *testing.T) {
	t.Parallel()
	rpm := tool(t, "rpm", "rpm")
	r := builtFake(t)
	for _, tg := range Targets {
		pkg := filepath.Join(r.OutDir, FileName(RPM, r.Version, tg))
		info := run(t, rpm, "-qip", pkg)
		for name, want := range map[string]string{
			"Name": "vcguard-agent", "Version": "1.4.0~rc.1", "Release": "1", "Architecture": rpmArch(tg.GOARCH),
		} {
			if got := field(t, info, name); got != want {
				t.Errorf("%s: %s: %q, want %q", filepath.Base(pkg), name, got, want)
			}
		}
		list := run(t, rpm, "-qlvp", pkg)
		for _, want := range []string{
			`-rwxr-xr-x .* root +root .* /usr/bin/vcguard-agent`,
			`-rw-r--r-- .* root +root .* /usr/lib/systemd/system/vcguard-agent\.service`,
			`-rw-r--r-- .* root +root .* /etc/vcguard/agent\.yaml`,
			`drwxr-xr-x .* root +root .* /etc/vcguard`,
			`drwxr-xr-x .* root +root .* /etc/vcguard/policy\.d`,
			`-rw-r--r-- .* root +root .* /etc/xdg/autostart/vcguard-notifier\.desktop`,
		} {
			if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(list) {
				t.Errorf("%s: rpm -qlvp has no line like %s:\n%s", filepath.Base(pkg), want, list)
			}
		}
		if got := run(t, rpm, "-qp", "--configfiles", pkg); got != ConfigPath+"\n" {
			t.Errorf("config files %q, want %s", got, ConfigPath)
		}
		// %config(noreplace): the file's flags carry both bits.
		flags := run(t, rpm, "-qp", "--queryformat", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", pkg)
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ConfigPath) + ` c\S*n`).MatchString(flags) {
			t.Errorf("%s is not %%config(noreplace):\n%s", ConfigPath, flags)
		}
		scripts := run(t, rpm, "-qp", "--scripts", pkg)
		for _, want := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
			if !strings.Contains(scripts, want) {
				t.Errorf("%s: no %s:\n%s", filepath.Base(pkg), want, scripts)
			}
		}
		if rec := run(t, rpm, "-qp", "--recommends", pkg); rec != "pipewire-utils\n" {
			t.Errorf("recommends %q", rec)
		}
	}
}

// TestVersionOrder checks with the real tools that a prerelease sorts
// before its release and after the one before, as upgrades need.
func TestVersionOrder(t *testing.T) {
	t.Parallel()
	dpkg := tool(t, "dpkg", "dpkg")
	rpm := tool(t, "rpm", "rpm")
	order := []string{"1.3.9", "1.4.0-rc.1", "1.4.0-rc.2", "1.4.0", "1.4.1"}
	for i := 1; i < len(order); i++ {
		older, newer := debVersion(order[i-1]), debVersion(order[i])
		if err := exec.Command(dpkg, "--compare-versions", older, "lt", newer).Run(); err != nil {
			t.Errorf("dpkg: %s is not older than %s: %v", older, newer, err)
		}
		a, b := rpmEVR(order[i-1]), rpmEVR(order[i])
		got := strings.TrimSpace(run(t, rpm, "--eval", `%{lua: print(rpm.vercmp("`+a+`", "`+b+`"))}`))
		if got != "-1" {
			t.Errorf("rpm: vercmp(%s, %s) = %s, want -1", a, b, got)
		}
	}
}

func debVersion(v string) string {
	core, pre := PackageVersion(v)
	if pre != "" {
		core += "~" + pre
	}
	return core + "-1"
}

func rpmEVR(v string) string { return debVersion(v) } // the same spelling: VERSION-RELEASE

// builtDeb builds the .deb of version for this machine's architecture
// from agent and returns its path.
func builtDeb(t *testing.T, version string, target installer.Target, agent string) string {
	t.Helper()
	r := installer.Release{Version: version, Agent: map[installer.Target]string{target: agent}, OutDir: t.TempDir()}
	out, err := build(r, []installer.Target{target}, []Format{Deb})
	if err != nil {
		t.Fatalf("build %s: %v", version, err)
	}
	return out[0]
}
