package browserpolicy

import (
	"context"
	"fmt"
	"github.com/vcguard/vcguard/internal/machinelock"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumProbe starts a fresh Chromium (new profile, headless, fake
// camera and microphone) whose user has allowed every site the camera and
// microphone, and returns what each page reports, with the result of
// sharing the page's own tab appended (" screen=ok"). Sharing is accepted
// by --auto-accept-this-tab-capture, which, unlike the fake UI below,
// still leaves ScreenCaptureAllowed the last word: seen here, with
// ScreenCaptureAllowed false the same request failed with NotAllowedError.
//
// Not --use-fake-ui-for-media-stream: that flag accepts every request
// before the policy is consulted. Seen here with Chromium 156: with the
// policy loaded (chrome://prefs-internals showed video_capture_enabled
// false, "managed"), a page not in VideoCaptureAllowedUrls still got the
// camera. Nor DevTools' Browser.grantPermissions: its override also
// outweighs the policy (the page not listed got the camera). A user's own
// setting ("Allow" for every site, default_content_setting_values 1 in the
// profile's Preferences) does not, so with it the check can fail both
// ways: refused with the policy, allowed without.
func chromiumProbe(t *testing.T, chromium string, pages ...*cameraPage) map[string]string {
	t.Helper()
	// The user allowed every site the camera and microphone (Settings >
	// Privacy > Site settings; content setting 1 = allow).
	profile := t.TempDir()
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := `{"profile": {"default_content_setting_values": {"media_stream_camera": 1, "media_stream_mic": 1}}}`
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(profile),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("auto-accept-this-tab-capture", true),
	)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	out := map[string]string{}
	for _, p := range pages {
		sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
		if err := chromedp.Do(sctx, chromedp.Navigate(p.URL+"/")); err != nil {
			scancel()
			t.Fatalf("open %s: %v", p.URL, err)
		}
		r, err := chromedp.Run(sctx, chromedp.Evaluate[string](`window.result`, chromedp.EvalAwaitPromise))
		if err != nil {
			scancel()
			t.Fatalf("result of %s: %v", p.URL, err)
		}
		if err := chromedp.Do(sctx, chromedp.Click(chromedp.ID("share"))); err != nil {
			scancel()
			t.Fatalf("click share on %s: %v", p.URL, err)
		}
		screen, err := chromedp.Run(sctx, chromedp.Evaluate[string](`window.screenResult`, chromedp.EvalAwaitPromise))
		scancel()
		if err != nil {
			t.Fatalf("screen result of %s: %v", p.URL, err)
		}
		out[p.origin()] = r + " screen=" + screen
	}
	return out
}

// TestChromiumEnforcesPolicy is the real check on Linux: vcguard's file in
// Debian Chromium's managed-policy directory (/etc/chromium/policies/managed,
// under a test-only name) lets only origin A use the camera and microphone;
// B is refused; with screen capture blocked, neither may share a tab.
// Once Apply(nil) removed the file (and the directories it created), a
// fresh Chromium gives B the camera and the tab again.
func TestChromiumEnforcesPolicy(t *testing.T) {
	machinelock.Lock(t, machinelock.BrowserPolicies)
	chromium := findBrowser(t, "VCGUARD_REQUIRE_CHROMIUM", "chromium", "chromium", "chromium-browser")
	needRoot(t, "VCGUARD_REQUIRE_CHROMIUM")
	a, b := newCameraPage(t), newCameraPage(t)

	// Without a policy both get the devices: the probe itself works.
	before := chromiumProbe(t, chromium, a, b)
	for _, p := range []*cameraPage{a, b} {
		if got := before[p.origin()]; got != "video=ok audio=ok screen=ok" {
			t.Fatalf("before any policy, %s reports %q, want video=ok audio=ok screen=ok", p.origin(), got)
		}
	}

	path := filepath.Join("/etc/chromium/policies/managed", fmt.Sprintf("vcguard-test-%d.json", os.Getpid()))
	created := createdDirs(path)
	w := systemTarget(t, "VCGUARD_REQUIRE_CHROMIUM", "chromium", ChromiumFile, path)
	rep, err := w.Apply(&Spec{AllowedOrigins: []string{a.origin()}, BlockScreenCapture: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Written) != 1 || rep.Written[0] != path {
		t.Fatalf("report %+v, want %s written", rep, path)
	}
	t.Logf("wrote %s:\n%s", path, readFile(t, path))

	got := chromiumProbe(t, chromium, a, b)
	if got[a.origin()] != "video=ok audio=ok screen=NotAllowedError" {
		t.Errorf("allowed origin A %s: %q, want video=ok audio=ok screen=NotAllowedError", a.origin(), got[a.origin()])
	}
	if got[b.origin()] != "video=NotAllowedError audio=NotAllowedError screen=NotAllowedError" {
		t.Errorf("other origin B %s: %q, want video=NotAllowedError audio=NotAllowedError screen=NotAllowedError", b.origin(), got[b.origin()])
	}

	rep, err = w.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, path)
	for _, d := range created {
		mustNotExist(t, d)
	}
	t.Logf("removed %q", rep.Removed)

	after := chromiumProbe(t, chromium, b)
	if after[b.origin()] != "video=ok audio=ok screen=ok" {
		t.Errorf("after removal, B %s: %q, want video=ok audio=ok screen=ok", b.origin(), after[b.origin()])
	}
}
