package browserpolicy

import (
	"context"
	"github.com/vcguard/vcguard/internal/machinelock"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// firefoxPolicyFile is where Firefox on Linux reads system-wide policies.
// Debian's firefox-esr reads it too: with the same policy in
// /etc/firefox-esr/policies/policies.json instead, firefox-esr 153.8.0esr
// ignored it (both origins were asked, none was refused), and with it here
// it refused the origin not listed.
const firefoxPolicyFile = "/etc/firefox/policies/policies.json"

// firefoxProbe starts a fresh headless Firefox on page p and returns what
// the page POSTs back. The profile's user has allowed every site the
// camera and microphone (permissions.default.camera and .microphone 1),
// and the devices are Firefox's fake ones.
//
// Not media.navigator.permission.disabled: it skips the permission check,
// policy included. Seen here with firefox-esr 153.8.0esr: with the policy
// loaded, the origin not listed still got the camera.
func firefoxProbe(t *testing.T, firefox string, p *cameraPage) string {
	t.Helper()
	profile := t.TempDir()
	prefs := `user_pref("media.navigator.streams.fake", true);
user_pref("permissions.default.camera", 1);
user_pref("permissions.default.microphone", 1);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
`
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, firefox, "--headless", "--no-remote", "--profile", profile, p.URL+"/")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "MOZ_CRASHREPORTER_DISABLE=1")
	// Its own process group, so that the content processes go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := os.Create(filepath.Join(t.TempDir(), "firefox.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", firefox, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
	}()
	select {
	case r := <-p.results:
		return r
	case err := <-exited:
		log, _ := os.ReadFile(out.Name())
		t.Fatalf("firefox exited before %s reported: %v\n%s", p.URL, err, log)
	case <-time.After(90 * time.Second):
		log, _ := os.ReadFile(out.Name())
		t.Fatalf("no result from %s within 90 s (a permission prompt nobody answers?)\n%s", p.URL, log)
	}
	return ""
}

// TestFirefoxEnforcesPolicy is the real check with Debian's Firefox ESR:
// vcguard's policies.json lets only origin A use the camera and
// microphone, B is refused; after Apply(nil) removed the file (and the
// directories it created), a fresh Firefox gives B the camera again. It
// never runs when a policies.json exists: that file is not the test's.
func TestFirefoxEnforcesPolicy(t *testing.T) {
	machinelock.Lock(t, machinelock.BrowserPolicies)
	firefox := findBrowser(t, "VCGUARD_REQUIRE_FIREFOX", "firefox-esr", "firefox-esr", "firefox")
	needRoot(t, "VCGUARD_REQUIRE_FIREFOX")
	a, b := newCameraPage(t), newCameraPage(t)

	created := createdDirs(firefoxPolicyFile)
	w := systemTarget(t, "VCGUARD_REQUIRE_FIREFOX", "firefox", FirefoxFile, firefoxPolicyFile)

	// Without a policy both get the devices: the probe itself works.
	if got := firefoxProbe(t, firefox, b); got != "video=ok audio=ok" {
		t.Fatalf("before any policy, B %s reports %q, want video=ok audio=ok", b.origin(), got)
	}

	// With screen capture blocked too: Permissions.ScreenShare is new
	// (Firefox 142, ESR 140.2), and a Firefox that refused it would drop
	// the whole Permissions policy, camera included; this one keeps it.
	// Whether it blocks sharing is not checked here: getDisplayMedia needs
	// a user's gesture, which nothing here can give Firefox.
	rep, err := w.Apply(&Spec{AllowedOrigins: []string{a.origin()}, BlockScreenCapture: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) != 1 || rep.Written[0] != firefoxPolicyFile {
		t.Fatalf("report %+v, want %s written", rep, firefoxPolicyFile)
	}
	t.Logf("wrote %s:\n%s", firefoxPolicyFile, readFile(t, firefoxPolicyFile))
	if got := firefoxProbe(t, firefox, a); got != "video=ok audio=ok" {
		t.Errorf("allowed origin A %s: %q, want video=ok audio=ok", a.origin(), got)
	}
	if got := firefoxProbe(t, firefox, b); got != "video=NotAllowedError audio=NotAllowedError" {
		t.Errorf("other origin B %s: %q, want video=NotAllowedError audio=NotAllowedError", b.origin(), got)
	}

	if _, err := w.Apply(nil); err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, firefoxPolicyFile)
	for _, d := range created {
		mustNotExist(t, d)
	}
	if got := firefoxProbe(t, firefox, b); got != "video=ok audio=ok" {
		t.Errorf("after removal, B %s: %q, want video=ok audio=ok", b.origin(), got)
	}
}
