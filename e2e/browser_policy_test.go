package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vcguard/vcguard/agent/browserpolicy"
	"github.com/vcguard/vcguard/internal/machinelock"
)

// chromiumManagedPolicy is where the agent writes Debian Chromium's
// managed policy (agent/browserpolicy's Linux targets).
const chromiumManagedPolicy = "/etc/chromium/policies/managed/vcguard.json"

// TestBrowserPolicyFromPublishedPolicy: a policy published on the server
// with browsers.media_origins enforce and the organisation's own origin A
// makes the real agent write Chromium's managed policy; a fresh headless
// Debian Chromium (fake camera and microphone, its user allowing every
// site) then gives A the camera and microphone and refuses another origin
// B. A new policy without the section makes the agent remove the file,
// and B gets the camera again. The server records both browser_policy
// events.
func TestBrowserPolicyFromPublishedPolicy(t *testing.T) {
	chromium := chromiumPath(t)
	if os.Geteuid() != 0 {
		if os.Getenv("VCGUARD_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("writing Chromium's managed policy in /etc needs root (VCGUARD_REQUIRE_CHROMIUM is set)")
		}
		t.Skip("writing Chromium's managed policy in /etc needs root (CI runs as root)")
	}
	machinelock.Lock(t, machinelock.BrowserPolicies)
	// The agent writes every browser's place (Chrome, Edge, Brave and
	// Firefox too); none may exist before, and whatever happens none of
	// them, nor a directory the agent created, stays in /etc.
	var created []string
	for _, tg := range browserpolicy.DefaultTargets() {
		if _, err := os.Lstat(tg.Path); err == nil {
			t.Fatalf("%s exists: this test lets the agent write it and will not touch a file it did not write", tg.Path)
		}
		for d := filepath.Dir(tg.Path); d != "/"; d = filepath.Dir(d) {
			if _, err := os.Lstat(d); err == nil || slices.Contains(created, d) {
				break
			}
			created = append(created, d)
		}
	}
	t.Cleanup(func() {
		for _, tg := range browserpolicy.DefaultTargets() {
			os.Remove(tg.Path)
		}
		// Deepest first.
		slices.SortFunc(created, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		for _, d := range created {
			os.Remove(d)
		}
	})
	a, b := newCameraSite(t), newCameraSite(t)

	s := newServer(t)
	stateDir := filepath.Join(t.TempDir(), "agent")
	startAgent(t, s, stateDir)
	waitFor(t, 15*time.Second, "the agent online with policy 1", func() bool {
		devs := s.devices(t)
		return len(devs) == 1 && devs[0].PolicyVersion == 1
	})
	doc := "name: Own meetings only\napps:\n  jitsi-meet: {status: approved}\nbrowsers:\n  media_origins: enforce\n  allowed_origins: [" + a.URL + "]\n"
	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", []byte(doc), nil); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	var written []byte
	waitFor(t, 15*time.Second, "the agent to write "+chromiumManagedPolicy, func() bool {
		written, _ = os.ReadFile(chromiumManagedPolicy)
		return strings.Contains(string(written), a.URL)
	})
	t.Logf("the agent wrote %s:\n%s", chromiumManagedPolicy, written)
	if strings.Contains(string(written), b.URL) {
		t.Errorf("the policy lets B %s use the camera", b.URL)
	}

	got := probeCamera(t, chromium, a, b)
	if got[a.URL] != "video=ok audio=ok" {
		t.Errorf("allowed origin A %s: %q, want video=ok audio=ok", a.URL, got[a.URL])
	}
	if got[b.URL] != "video=NotAllowedError audio=NotAllowedError" {
		t.Errorf("other origin B %s: %q, want video=NotAllowedError audio=NotAllowedError", b.URL, got[b.URL])
	}

	if code := s.api(t, http.MethodPost, "/api/v1/policies?comment=e2e", []byte("name: No browser rules\napps:\n  jitsi-meet: {status: approved}\n"), nil); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	// The agent removes its files first and then the directories it
	// created, deepest first: wait for all of it, not just the first file.
	remaining := func() (left []string) {
		if _, err := os.Lstat(chromiumManagedPolicy); !os.IsNotExist(err) {
			left = append(left, chromiumManagedPolicy)
		}
		for _, d := range created {
			if _, err := os.Lstat(d); err == nil {
				left = append(left, d)
			}
		}
		return left
	}
	for deadline := time.Now().Add(15 * time.Second); len(remaining()) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the policy dropped its browser rules, what the agent wrote or created is still there: %v", remaining())
		}
	}
	if after := probeCamera(t, chromium, b); after[b.URL] != "video=ok audio=ok" {
		t.Errorf("after removal, B %s: %q, want video=ok audio=ok", b.URL, after[b.URL])
	}

	devID := s.devices(t)[0].ID
	var page struct {
		Events []struct {
			Detail struct {
				BrowserPolicy struct {
					Mode    string   `json:"mode"`
					Written []string `json:"written"`
					Removed []string `json:"removed"`
				} `json:"browser_policy"`
			} `json:"detail"`
		} `json:"events"`
	}
	waitFor(t, 10*time.Second, "two browser_policy events on the server", func() bool {
		if code := s.api(t, http.MethodGet, "/api/v1/events?limit=100&type=browser_policy&device="+devID, nil, &page); code != http.StatusOK {
			t.Fatalf("events: %d", code)
		}
		return len(page.Events) >= 2
	})
	wrote, removed := false, false
	for _, e := range page.Events {
		bp := e.Detail.BrowserPolicy
		wrote = wrote || (bp.Mode == "enforce" && slices.Contains(bp.Written, chromiumManagedPolicy))
		removed = removed || (bp.Mode == "" && slices.Contains(bp.Removed, chromiumManagedPolicy))
	}
	if !wrote || !removed {
		t.Errorf("browser_policy events %+v; want one writing and one removing %s", page.Events, chromiumManagedPolicy)
	}
}

// newCameraSite serves a page on 127.0.0.1 (a secure context) that asks
// for the camera, then the microphone, and resolves window.result to
// "video=<ok or error name> audio=<…>".
func newCameraSite(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>camera</title><script>
async function probe(c) {
  try { const s = await navigator.mediaDevices.getUserMedia(c); s.getTracks().forEach(t => t.stop()); return "ok"; }
  catch (e) { return e.name; }
}
window.result = (async () => "video=" + await probe({video: true}) + " audio=" + await probe({audio: true}))();
</script>`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// probeCamera opens each site in a fresh headless Chromium whose user has
// allowed every site the camera and microphone (default content setting
// 1, as Settings > Privacy > Site settings writes it), with fake devices,
// and returns each site's result. Not --use-fake-ui-for-media-stream: it
// accepts before the policy is consulted (see agent/browserpolicy's
// Chromium test).
func probeCamera(t *testing.T, chromium string, sites ...*httptest.Server) map[string]string {
	t.Helper()
	profile := t.TempDir()
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := `{"profile": {"default_content_setting_values": {"media_stream_camera": 1, "media_stream_mic": 1}}}`
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", "new"), chromedp.NoSandbox,
		chromedp.UserDataDir(profile), chromedp.Flag("use-fake-device-for-media-stream", true),
	)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The browser lives as long as ctx: start it here, not under a
	// page's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	out := map[string]string{}
	for _, s := range sites {
		sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
		if err := chromedp.Do(sctx, chromedp.Navigate(s.URL+"/")); err != nil {
			scancel()
			t.Fatalf("open %s: %v", s.URL, err)
		}
		r, err := chromedp.Run(sctx, chromedp.Evaluate[string](`window.result`, chromedp.EvalAwaitPromise))
		scancel()
		if err != nil {
			t.Fatalf("probe %s: %v", s.URL, err)
		}
		out[s.URL] = r
	}
	return out
}
