//go:build !windows

// The package built for real and installed under Wine. Not built for
// Windows: the Windows lane runs test binaries under Wine, where neither
// wixl nor a Wine of its own is at hand.

package msi

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/installer"
)

// needTools skips (or, in CI, fails) when a tool is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("VCGUARD_REQUIRE_PACKAGING") == "1" {
				t.Fatalf("VCGUARD_REQUIRE_PACKAGING=1 and %s is missing: %v", tool, err)
			}
			t.Skipf("%s not installed (set VCGUARD_REQUIRE_PACKAGING=1 to fail instead): %v", tool, err)
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildAgent builds the real agent for windows/amd64.
func buildAgent(t *testing.T, dir, version string) string {
	t.Helper()
	out := filepath.Join(dir, "vcguard-agent-"+version+".exe")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, "./agent/cmd/vcguard-agent")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Windows agent: %v\n%s", err, b)
	}
	return out
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
	}
	return string(b)
}

// selfSigned writes a code-signing certificate and key.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(dir, "sign.pem"), filepath.Join(dir, "sign.key")
	tool(t, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vcguard test signer",
		"-addext", "extendedKeyUsage=codeSigning", "-keyout", key, "-out", cert)
	return cert, key
}

func TestBuildAndInstallUnderWine(t *testing.T) {
	needTools(t, "wixl", "msiinfo", "msibuild", "msiextract", "osslsigncode", "openssl", "wine", "wineserver", "x86_64-w64-mingw32-gcc")
	dir := t.TempDir()
	agent1 := buildAgent(t, dir, "1.0.0")
	agent2 := buildAgent(t, dir, "1.1.0")
	cert, key := selfSigned(t, dir)
	dist := filepath.Join(dir, "dist")
	win := installer.Target{GOOS: "windows", GOARCH: "amd64"}

	out, err := Build(installer.Release{Version: "1.0.0", Agent: map[installer.Target]string{win: agent1}, OutDir: dist, SignCert: cert, SignKey: key})
	if err != nil {
		t.Fatal(err)
	}
	msi1 := filepath.Join(dist, "vcguard-agent-1.0.0-x64.msi")
	if len(out) != 1 || out[0] != msi1 {
		t.Fatalf("Build = %v, want [%s]", out, msi1)
	}
	out, err = Build(installer.Release{Version: "1.1.0", Agent: map[installer.Target]string{win: agent2}, OutDir: dist})
	if err != nil {
		t.Fatal(err)
	}
	msi2 := out[0]
	if fi, err := os.Stat(msi1); err == nil {
		t.Logf("%s: %d bytes", msi1, fi.Size())
	}

	checkTables(t, msi1)
	// Signed: the package, and the agent inside it.
	if s := tool(t, "osslsigncode", "verify", "-CAfile", cert, "-in", msi1); !strings.Contains(s, "vcguard test signer") {
		t.Errorf("the .msi is not signed by the test signer:\n%s", s)
	}
	if b, err := exec.Command("osslsigncode", "verify", "-in", msi2).CombinedOutput(); err == nil {
		t.Errorf("an unsigned release's .msi has a signature:\n%s", b)
	}
	extract := filepath.Join(dir, "extract")
	tool(t, "msiextract", "-C", extract, msi1)
	exe := filepath.Join(extract, "vcguard", "vcguard-agent.exe") // msiextract drops ProgramFiles64Folder
	if s := tool(t, "osslsigncode", "verify", "-CAfile", cert, "-in", exe); !strings.Contains(s, "vcguard test signer") {
		t.Errorf("the agent in the .msi is not signed:\n%s", s)
	}

	installUnderWine(t, dir, msi1, msi2)
}

// checkTables reads the built package's tables with msiinfo.
func checkTables(t *testing.T, msi string) {
	tables := tool(t, "msiinfo", "tables", msi)
	for _, want := range []string{"Property", "ServiceInstall", "ServiceControl", "Registry", "CustomAction", "Condition", "Upgrade", "File"} {
		if !regexp.MustCompile(`(?m)^` + want + `\r?$`).MatchString(tables) {
			t.Errorf("no %s table in %s", want, tables)
		}
	}
	export := func(table string) string {
		return strings.ReplaceAll(tool(t, "msiinfo", "export", msi, table), "\r", "")
	}
	for table, wants := range map[string][]string{
		"Property": {
			"\nSecureCustomProperties\tWIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;SERVER;CA_FILE;CA_FINGERPRINT;DEVICE_GROUP;ENROLL_SECRET\n",
			"\nMsiHiddenProperties\tENROLL_SECRET;SetEnrollSecret\n",
			"\nUpgradeCode\t{F15D740A-EA80-49D1-8ADB-FB5ACD41FB39}\n",
			"\nProductVersion\t1.0.0\n",
		},
		"ServiceInstall": {
			// own process (16), auto start (2), error control normal (1)
			"\tvcguard-agent\tvcguard agent\t16\t2\t1\t\t\tLocalSystem\t\trun --service --log-file \"C:\\ProgramData\\vcguard\\agent.log\"\tAgentService\t",
		},
		"ServiceControl": {
			// stop on install and uninstall, delete on uninstall (2|32|128), waited for
			"\tvcguard-agent\t162\t\t1\tAgentService\n",
		},
		"Registry": {
			"\t2\tSoftware\\Microsoft\\Windows\\CurrentVersion\\Run\tvcguard-notifier\t\"[INSTALLFOLDER]vcguard-agent.exe\" notifier\tNotifier\n",
			"\t2\tSOFTWARE\\Policies\\vcguard\\Agent\tServer\t[SERVER]\tPolicyServer\n",
			"\t2\tSOFTWARE\\Policies\\vcguard\\Agent\tCAFile\t[CA_FILE]\tPolicyCAFile\n",
			"\t2\tSOFTWARE\\Policies\\vcguard\\Agent\tCAFingerprint\t[CA_FINGERPRINT]\tPolicyCAFingerprint\n",
			"\t2\tSOFTWARE\\Policies\\vcguard\\Agent\tDeviceGroup\t[DEVICE_GROUP]\tPolicyDeviceGroup\n",
		},
		"CustomAction": {
			// 18 exe from an installed file | deferred 0x400 | no impersonation 0x800 | hide target 0x2000
			"\nSetEnrollSecret\t11282\tAgentExe\tenroll-secret --set \"[ENROLL_SECRET]\"\t",
			// 50 exe named by a property | deferred | no impersonation
			"\nSetServiceRecovery\t3122\tSC_EXE\tfailure vcguard-agent reset= 86400 actions= restart/5000/restart/30000/restart/60000\t",
			"\nSetServiceRecoveryFlag\t3186\tSC_EXE\tfailureflag vcguard-agent 1\t",
			"\nStartAgent\t3186\tSC_EXE\tstart vcguard-agent\t",
			// 18 exe from an installed file | ignore its exit 0x40 | deferred | no impersonation
			"\nRemoveBrowserPolicies\t3154\tAgentExe\tremove-browser-policies\t",
		},
		"InstallExecuteSequence": {
			"\nRemoveExistingProducts\t\t1401\n",
			"\nSetServiceRecovery\tNOT REMOVE~=\"ALL\"\t5810\n",
			"\nSetEnrollSecret\tENROLL_SECRET AND NOT REMOVE~=\"ALL\"\t5830\n",
			"\nStartAgent\tNOT REMOVE~=\"ALL\"\t5840\n",
			// After StopServices (1900), before the files go.
			"\nRemoveBrowserPolicies\tREMOVE~=\"ALL\" AND NOT UPGRADINGPRODUCTCODE\t1950\n",
		},
		"Condition": {"\nPolicyServer\t0\tNOT SERVER\n"},
	} {
		got := export(table)
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s table lacks %q:\n%s", table, want, got)
			}
		}
	}
	if reg := export("Registry"); strings.Contains(reg, "ENROLL_SECRET") {
		t.Errorf("the Registry table writes the secret:\n%s", reg)
	}
}

// wine runs a Windows program in the test's prefix.
type wineEnv struct {
	t   *testing.T
	env []string
}

func (w wineEnv) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Env = w.env
	cmd.Stdin = nil // /dev/null: services the prefix starts must not hold a test pipe
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Wine's own processes may outlive msiexec and keep the pipe; do not wait for them.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.String(), err
}

func (w wineEnv) must(args ...string) string {
	w.t.Helper()
	out, err := w.run(2*time.Minute, args...)
	if err != nil {
		w.t.Fatalf("wine %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func installUnderWine(t *testing.T, dir, msi1, msi2 string) {
	prefix := filepath.Join(dir, "prefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	w := wineEnv{t: t, env: env}
	mk := exec.Command(filepath.Join(repoRoot(t), "scripts", "wine", "prefix.sh"), prefix)
	mk.Env = env
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make the Wine prefix: %v\n%s", err, b)
	}
	// Keep the prefix up for the whole test (as a booted Windows is), and
	// boot it with no pipe of ours: wineserver -p and the services wineboot
	// starts live on and would hold a pipe open for ever.
	t.Cleanup(func() {
		k := exec.Command("wineserver", "-k")
		k.Env = env
		_ = k.Run()
	})
	for _, args := range [][]string{{"wineserver", "-p"}, {"wine", "wineboot"}} {
		c := exec.Command(args[0], args[1:]...)
		c.Env = env // no Stdin, Stdout, Stderr: /dev/null
		if err := c.Run(); err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
	}

	drive := filepath.Join(prefix, "drive_c")
	// Copy the packages into the prefix: msiexec takes Windows paths.
	for _, m := range []string{msi1, msi2} {
		if err := copyFile(m, filepath.Join(drive, filepath.Base(m))); err != nil {
			t.Fatal(err)
		}
	}
	win := func(m string) string { return `C:\` + filepath.Base(m) }
	const secret = "enroll-s3cr3t-7d1c0e9b"
	props := []string{"SERVER=127.0.0.1:1", "CA_FINGERPRINT=CD:7E:09:AD:4D:97:D8:9B:D8:78:46:28:64:AD:8B:6F:30:2C:DE:C4:71:D0:ED:F9:4B:40:45:7F:69:26:96:4F", "DEVICE_GROUP=engineering"}
	secretProp := "ENROLL_SECRET=" + secret

	// Does this agent store the secret yet (`enroll-secret --set`)?
	exe := filepath.Join(drive, "agent-probe.exe")
	if err := copyFile(filepath.Join(filepath.Dir(msi1), "..", "vcguard-agent-1.0.0.exe"), exe); err != nil {
		t.Fatal(err)
	}
	_, probeErr := w.run(time.Minute, `C:\agent-probe.exe`, "enroll-secret", "-h")
	agentStoresSecret := probeErr == nil

	logFile := filepath.Join(drive, "install.log")
	noSecretIn := func(what, s string) {
		t.Helper()
		if strings.Contains(s, secret) {
			t.Errorf("the enrollment secret is in %s", what)
		}
	}
	readLog := func() string {
		b, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatalf("msiexec log: %v", err)
		}
		return string(b)
	}

	install := props
	if agentStoresSecret {
		install = append(install, secretProp)
	} else {
		// The agent has no enroll-secret command yet: the install with a
		// secret fails (and rolls back), and its log must not hold the
		// secret either; the rest is checked without one.
		t.Log("this agent has no `enroll-secret` command: ENROLL_SECRET's storage is not tested; an install with it is expected to fail")
		_, err := w.run(2*time.Minute, append([]string{"msiexec", "/i", win(msi1), "/qn", `/l*v`, `C:\install.log`}, append(props, secretProp)...)...)
		if err == nil {
			t.Error("an install with ENROLL_SECRET succeeded although the agent cannot store it")
		}
		noSecretIn("the log of the failed install", readLog())
	}

	if out, err := w.run(3*time.Minute, append([]string{"msiexec", "/i", win(msi1), "/qn", `/l*v`, `C:\install.log`}, install...)...); err != nil {
		t.Fatalf("msiexec /i: %v\n%s\n%s", err, out, readLog())
	}
	noSecretIn("the msiexec log", readLog())
	if agentStoresSecret {
		// The deferred action reached the agent with the secret: it is stored
		// in the state directory (and nowhere in the registry, below).
		found := false
		_ = filepath.WalkDir(filepath.Join(drive, "ProgramData", "vcguard"), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(secret)) {
					found = true
				}
			}
			return nil
		})
		if !found {
			t.Error("the enrollment secret was not stored in C:\\ProgramData\\vcguard")
		}
	}

	svc := w.must("reg", "query", `HKLM\System\CurrentControlSet\Services\vcguard-agent`)
	// Wine's msi writes the image path unquoted; Windows Installer quotes it.
	if !regexp.MustCompile(`ImagePath\s+REG_SZ\s+"?C:\\Program Files\\vcguard\\vcguard-agent\.exe"? run --service --log-file "C:\\ProgramData\\vcguard\\agent\.log"`).MatchString(svc) {
		t.Errorf("service ImagePath:\n%s", svc)
	}
	for _, re := range []string{`Start\s+REG_DWORD\s+0x2\b`, `ObjectName\s+REG_SZ\s+LocalSystem`, `Type\s+REG_DWORD\s+0x10\b`} {
		if !regexp.MustCompile(re).MatchString(svc) {
			t.Errorf("service lacks %s:\n%s", re, svc)
		}
	}
	pol := w.must("reg", "query", `HKLM\SOFTWARE\Policies\vcguard\Agent`)
	for _, re := range []string{`Server\s+REG_SZ\s+127\.0\.0\.1:1`, `CAFingerprint\s+REG_SZ\s+CD:7E:09:AD:4D:97:D8:9B:D8:78:46:28:64:AD:8B:6F:30:2C:DE:C4:71:D0:ED:F9:4B:40:45:7F:69:26:96:4F`, `DeviceGroup\s+REG_SZ\s+engineering`} {
		if !regexp.MustCompile(re).MatchString(pol) {
			t.Errorf("policy key lacks %s:\n%s", re, pol)
		}
	}
	if strings.Contains(pol, "CAFile") {
		t.Errorf("CAFile written although CA_FILE was not given:\n%s", pol)
	}
	run := w.must("reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, "/v", "vcguard-notifier")
	if !strings.Contains(run, `"C:\Program Files\vcguard\vcguard-agent.exe" notifier`) {
		t.Errorf("Run value:\n%s", run)
	}
	installed := filepath.Join(drive, "Program Files", "vcguard", "vcguard-agent.exe")
	if _, err := os.Stat(installed); err != nil {
		t.Errorf("agent not installed: %v", err)
	}
	// The secret is in no registry value.
	for _, hive := range []string{"HKLM", "HKU"} {
		reg := filepath.Join(drive, "export.reg")
		w.must("reg", "export", hive, `C:\export.reg`, "/y")
		b, err := os.ReadFile(reg)
		if err != nil {
			t.Fatal(err)
		}
		noSecretIn(hive+" (reg export)", string(b)+utf16ToString(b))
	}

	// A major upgrade keeps the state directory.
	state := filepath.Join(drive, "ProgramData", "vcguard")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	keepFile := filepath.Join(state, "device.keep")
	if err := os.WriteFile(keepFile, []byte("state"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := w.run(3*time.Minute, append([]string{"msiexec", "/i", win(msi2), "/qn", `/l*v`, `C:\install.log`}, props...)...); err != nil {
		t.Fatalf("msiexec /i (upgrade): %v\n%s\n%s", err, out, readLog())
	}
	if b, err := os.ReadFile(keepFile); err != nil || string(b) != "state" {
		t.Errorf("the state directory's file after the upgrade: %q, %v", b, err)
	}
	if v := w.must(`C:\Program Files\vcguard\vcguard-agent.exe`, "version"); !strings.Contains(v, "1.1.0") {
		t.Errorf("after the upgrade the agent says %q, want 1.1.0", v)
	}
	// (Wine's reg has no /f.)
	if uninstall := w.must("reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`, "/s"); !regexp.MustCompile(`DisplayName\s+REG_SZ\s+vcguard agent`).MatchString(uninstall) ||
		len(regexp.MustCompile(`DisplayName\s+REG_SZ\s+vcguard agent`).FindAllString(uninstall, -1)) != 1 {
		t.Errorf("want exactly one vcguard agent registered after the upgrade:\n%s", uninstall)
	}

	// Uninstall removes the service and the files, and keeps the state.
	if out, err := w.run(3*time.Minute, "msiexec", "/x", win(msi2), "/qn"); err != nil {
		t.Fatalf("msiexec /x: %v\n%s", err, out)
	}
	if out, err := w.run(time.Minute, "reg", "query", `HKLM\System\CurrentControlSet\Services\vcguard-agent`); err == nil {
		t.Errorf("the service is still there after uninstall:\n%s", out)
	}
	if _, err := os.Stat(installed); !os.IsNotExist(err) {
		t.Errorf("the agent is still installed after uninstall: %v", err)
	}
	if out, err := w.run(time.Minute, "reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, "/v", "vcguard-notifier"); err == nil {
		t.Errorf("the Run value is still there after uninstall:\n%s", out)
	}
	if _, err := os.Stat(keepFile); err != nil {
		t.Errorf("uninstall removed the state directory: %v", err)
	}
}

// utf16ToString decodes a little-endian UTF-16 file (what reg export writes)
// well enough to search it for ASCII.
func utf16ToString(b []byte) string {
	var s strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		if b[i+1] == 0 {
			s.WriteByte(b[i])
		}
	}
	return s.String()
}
