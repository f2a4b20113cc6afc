package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// artifactsDir receives the browser test's screenshots (gitignored).
const artifactsDir = "artifacts"

// chromiumPath finds Debian's chromium. Without it the browser test is
// skipped, or fails when VCGUARD_REQUIRE_CHROMIUM=1 (as in CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium in PATH: install it (apt-get install chromium)"
	if os.Getenv("VCGUARD_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// initialAdmin is the first account as DATA/initial-admin.txt gives it.
type initialAdmin struct {
	Username, Password string
	TOTP               *otp.Key
}

func readInitialAdmin(t *testing.T, data string) initialAdmin {
	t.Helper()
	f, err := os.Open(filepath.Join(data, "initial-admin.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var a initialAdmin
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Username:"); ok {
			a.Username = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Password:"); ok {
			a.Password = strings.TrimSpace(v)
		}
		if strings.HasPrefix(line, "otpauth://") {
			if a.TOTP, err = otp.NewKeyFromURL(line); err != nil {
				t.Fatalf("initial-admin.txt: %v", err)
			}
		}
	}
	if a.Username == "" || a.Password == "" || a.TOTP == nil {
		t.Fatalf("initial-admin.txt lacks the username, password or otpauth URL")
	}
	return a
}

// serverSPKI is the base64 SHA-256 of the dashboard certificate's public
// key, checked against the test server's own CA: Chromium trusts exactly
// this key (--ignore-certificate-errors-spki-list), not any certificate.
func serverSPKI(t *testing.T, s *server) string {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(s.data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", s.httpAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("dashboard certificate: %v", err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// shooter saves numbered full-page PNG screenshots.
type shooter struct {
	t   *testing.T
	ctx context.Context
	n   int
}

func (s *shooter) shot(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	path := filepath.Join(artifactsDir, fmt.Sprintf("browser-%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot %s", path)
}

// TestBrowserDashboard drives headless Chromium through the dashboard of a
// real server with a real agent: log in with password and TOTP, see the
// device and its genuine Zoom, publish a policy forbidding Zoom in the
// editor and watch the device page show the agent's new verdict, then
// revoke the device.
func TestBrowserDashboard(t *testing.T) {
	chromium := chromiumPath(t)
	s := newServer(t)
	zoom := startGenuineZoom(t)
	startAgent(t, s, filepath.Join(t.TempDir(), "agent"))
	var devID string
	waitFor(t, 20*time.Second, "the agent to report zoom running", func() bool {
		devs := s.devices(t)
		if found, running, _ := appState(devs, "zoom", zoom.pid()); found && running {
			devID = devs[0].ID
			return true
		}
		return false
	})
	admin := readInitialAdmin(t, s.data)
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(artifactsDir, "browser-*.png"))
	for _, f := range old { // an earlier run's
		os.Remove(f)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors-spki-list", serverSPKI(t, s)),
		chromedp.WindowSize(1280, 900),
	)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// Start the browser on a context without a deadline; each step below
	// runs under its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	base := "https://" + s.httpAddr
	shots := &shooter{t: t, ctx: ctx}
	step := func(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, timeout)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shots.shot("failed")
			t.Fatalf("%s: %v", what, err)
		}
	}
	// text reads an element's text. A node the page replaced between
	// finding it and reading it ("No node with given id found": live.js
	// and the editor update the page in place) is looked up again; a node
	// that stays gone fails at the timeout.
	text := func(sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		for {
			v, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
			if err == nil {
				return v
			}
			if !strings.Contains(err.Error(), "No node with given id found") || sctx.Err() != nil {
				t.Fatalf("text of %s: %v", sel, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Log in with username, password and the TOTP code an authenticator
	// app would show.
	code, err := totp.GenerateCode(admin.TOTP.Secret(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	step("open the login page", 20*time.Second,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), admin.Username),
		chromedp.SendKeys(chromedp.ID("password"), admin.Password),
		chromedp.SendKeys(chromedp.ID("code"), code))
	shots.shot("login")
	step("log in", 20*time.Second,
		chromedp.Click(chromedp.CSS(`.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("detections-chart")))
	if got := text("#devices-total"); got != "1" {
		t.Errorf("overview: %s devices, want 1", got)
	}
	shots.shot("overview")

	// The device and its genuine Zoom, verdict restricted under the
	// European default policy.
	step("devices list", 20*time.Second,
		chromedp.Navigate(base+"/devices"),
		chromedp.WaitVisible(chromedp.CSS(`#devices tr[data-device] [data-app="zoom"]`)))
	if row := text(`#devices tr[data-device]`); !strings.Contains(row, "Zoom") || !strings.Contains(row, "online") {
		t.Errorf("devices row %q: want Zoom, online", row)
	}
	shots.shot("devices")
	// The row of this test's Zoom (by pid: another test's may run too).
	zoomRow := fmt.Sprintf(`#apps tr[data-app="zoom"][data-pid="%d"]`, zoom.pid())
	step("device page", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#devices tr[data-device] a`)),
		chromedp.WaitVisible(chromedp.CSS(zoomRow+` .verdict-restricted`)))
	if row := text(zoomRow); !strings.Contains(row, "running") || !strings.Contains(row, "/opt/zoom/zoom") {
		t.Errorf("zoom row %q: want running /opt/zoom/zoom", row)
	}
	shots.shot("device")
	// A second tab keeps the device page open from now on.
	devTab, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if err := chromedp.Do(devTab, chromedp.Navigate(base+"/devices/"+devID),
		chromedp.WaitVisible(chromedp.CSS(zoomRow+` .verdict-restricted`))); err != nil {
		t.Fatalf("device page in a second tab: %v", err)
	}
	step("apps inventory", 20*time.Second,
		chromedp.Navigate(base+"/apps"),
		chromedp.WaitVisible(chromedp.CSS(`#apps-inventory tr[data-app="zoom"]`)))
	shots.shot("apps")

	// The policy editor: a mistake is named by line and field, then a
	// valid policy is diffed and published.
	editorReady := chromedp.WaitVisible(chromedp.CSS(`html[data-editor="ready"] #policy-codemirror`))
	step("policy editor", 20*time.Second,
		chromedp.Navigate(base+"/policies"),
		editorReady,
		pastePolicy("name: Strict\napps:\n  zoom:\n    status: maybe\n"),
		chromedp.Click(chromedp.ID("validate-button")),
		chromedp.WaitVisible(chromedp.ID("validation-errors")), editorReady)
	if got := text("#validation-errors"); !strings.Contains(got, "policy:4") || !strings.Contains(got, "apps.zoom.status") {
		t.Errorf("validation errors %q: want policy:4 and field apps.zoom.status", got)
	}
	shots.shot("policy-invalid")
	strict := "name: Strict\napps:\n  jitsi-meet:\n    status: approved\n  zoom:\n    status: forbidden\n    alternative: jitsi-meet\n"
	step("validate", 20*time.Second,
		pastePolicy(strict),
		chromedp.Click(chromedp.ID("validate-button")),
		chromedp.WaitVisible(chromedp.ID("validation-ok")), editorReady)
	step("diff", 20*time.Second,
		chromedp.Click(chromedp.ID("diff-button")),
		chromedp.WaitVisible(chromedp.ID("policy-diff")), editorReady)
	if got := text("#policy-diff"); !strings.Contains(got, "+name: Strict") {
		t.Errorf("diff %q lacks +name: Strict", got)
	}
	shots.shot("policy-diff")
	step("publish", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("comment"), "forbid Zoom, Jitsi instead"),
		chromedp.Click(chromedp.ID("publish-button")),
		// The review page's editor mounts after the page loads and
		// rebuilds the form around it: click once it has.
		chromedp.WaitVisible(chromedp.ID("confirm-publish-button")), editorReady,
		chromedp.Click(chromedp.ID("confirm-publish-button")),
		chromedp.WaitVisible(chromedp.CSS(`#policy-history tr[data-version="2"]`)), editorReady)
	if got := text(".notice"); !strings.Contains(got, "Published version 2") {
		t.Errorf("after publishing: %q", got)
	}
	shots.shot("policy-published")

	// The device page, open in a second tab since before the publish and
	// never reloaded, updates itself (live.js) once the agent has applied
	// version 2 and judged Zoom forbidden.
	if got := text("#policy-history"); !strings.Contains(got, "Strict") {
		t.Errorf("history %q lacks Strict", got)
	}
	sctx, scancel := context.WithTimeout(devTab, 30*time.Second)
	err = chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(zoomRow+` .verdict-forbidden`)))
	scancel()
	if err != nil {
		t.Fatalf("the open device page did not show zoom forbidden: %v", err)
	}
	devShots := &shooter{t: t, ctx: devTab, n: shots.n}
	waitFor(t, 10*time.Second, "the open page to show policy version 2 applied", func() bool {
		v, err := chromedp.Run(devTab, chromedp.Text(chromedp.ID("policy-applied")))
		return err == nil && v == "version 2"
	})
	devShots.shot("device-forbidden-live")
	shots.n = devShots.n
	step("device page shows zoom forbidden", 30*time.Second,
		chromedp.Navigate(base+"/devices/"+devID),
		chromedp.WaitVisible(chromedp.CSS(zoomRow+` .verdict-forbidden`)))

	// Revoke: tick the confirmation, press the button; the agent's stream
	// is cut and the page shows it revoked and offline.
	step("revoke", 20*time.Second,
		chromedp.Click(chromedp.ID("revoke-confirm")),
		chromedp.Click(chromedp.ID("revoke-button")),
		chromedp.WaitVisible(chromedp.CSS(`#device-status .revoked`)))
	waitFor(t, 20*time.Second, "the device page to show the device offline", func() bool {
		return strings.Contains(text("#device-status"), "offline")
	})
	shots.shot("device-revoked")
	var dev struct {
		Revoked *time.Time `json:"revoked"`
		Online  bool       `json:"online"`
	}
	if code := s.api(t, http.MethodGet, "/api/v1/devices/"+devID, nil, &dev); code != http.StatusOK || dev.Revoked == nil || dev.Online {
		t.Errorf("device after revoking in the browser: status %d, %+v", code, dev)
	}
}

// pastePolicy replaces the policy editor's (CodeMirror's) whole document
// with doc, as a person pasting it over everything: typed text would be
// auto-indented by the editor.
func pastePolicy(doc string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(async () => {
  const content = document.querySelector(".cm-content");
  content.focus();
  getSelection().selectAllChildren(content);
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const dt = new DataTransfer();
  dt.setData("text/plain", %q);
  content.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true}));
})()`, doc), chromedp.EvalAwaitPromise)
}
