package browsersite

import (
	"context"
	"encoding/json"
	"flag"
	"github.com/vcguard/vcguard/internal/machinelock"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vcguard/vcguard/policies"
)

var update = flag.Bool("update", false, "rewrite testdata/ from the real browsers (TestChromiumRecordsGrants, TestFirefoxRecordsGrants)")

// chromiumPath finds Debian's chromium. Without it the test is skipped, or
// fails when VCGUARD_REQUIRE_CHROMIUM=1 (as in CI).
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

// mediaPage asks for the device named in the query (?video or ?audio) and
// reports the outcome in window.result, a promise.
const mediaPage = `<!doctype html><meta charset="utf-8"><title>media</title><script>
const want = location.search === "?audio" ? {audio: true} : {video: true};
window.result = navigator.mediaDevices.getUserMedia(want).then(
  s => { s.getTracks().forEach(t => t.stop()); return "granted"; },
  e => e.name + ": " + e.message);
</script>`

// TestChromiumRecordsGrants runs real Chromium on a fresh profile in a
// temporary home's ~/.config/chromium: it makes camera and microphone
// decisions through Chromium's own site settings page (chrome://settings/
// content/siteDetails, the page where a person allows a site the camera:
// the test sends the page's own "setOriginPermissions" message, as its
// permission menus do), checks on a page served from 127.0.0.1 that
// Chromium honours them (the camera, allowed, opens without any prompt or
// fake-UI switch; the microphone, blocked, is refused), quits Chromium
// cleanly and reads the Preferences it wrote with Read and Match.
//
// With -update it rewrites testdata/chromium/ from that profile, trimmed to
// the content-setting exceptions and the profile list.
func TestChromiumRecordsGrants(t *testing.T) {
	machinelock.Lock(t, machinelock.BrowserPolicies)
	chromium := chromiumPath(t)
	home := t.TempDir()
	userData := filepath.Join(home, ".config", "chromium")
	if err := os.MkdirAll(userData, 0o700); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(mediaPage))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	local := "http://" + ln.Addr().String() // a secure context, as localhost is

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(userData),
		// A fake camera and microphone; no switch that answers the
		// permission prompt: the decisions below must do that.
		chromedp.Flag("use-fake-device-for-media-stream", true),
	)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	started := time.Now()
	out, err := exec.Command(chromium, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", chromium, err)
	}
	version := strings.TrimSpace(string(out))
	t.Logf("recording with %s", version)

	// The decisions go through the page's own message, all from one page
	// load, as its permission menus would send them.
	decide := func(what string, ds ...[3]string) {
		t.Helper()
		var js strings.Builder
		for _, d := range ds {
			js.WriteString(`chrome.send("setOriginPermissions", [` + jsString(d[0]) + `, ` + jsString(d[1]) + `, ` + jsString(d[2]) + `]);`)
		}
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, chromedp.Navigate("chrome://settings/content/siteDetails?site="+ds[0][0]),
			chromedp.Evaluate[chromedp.Void](js.String())); err != nil {
			t.Fatalf("decide %s: %v", what, err)
		}
	}
	outcome := func(query string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, chromedp.Navigate(local+"/"+query)); err != nil {
			t.Fatalf("open %s: %v", query, err)
		}
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](`window.result`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("getUserMedia %s: %v", query, err)
		}
		return v
	}

	decide("the local page's camera and microphone",
		[3]string{local, "media-stream-camera", "allow"},
		[3]string{local, "media-stream-mic", "block"})
	if got := outcome("?video"); got != "granted" {
		t.Fatalf("camera on %s, allowed in site settings: %s, want granted", local, got)
	}
	if got := outcome("?audio"); !strings.HasPrefix(got, "NotAllowedError") {
		t.Fatalf("microphone on %s, blocked in site settings: %s, want NotAllowedError", local, got)
	}
	decide("meeting and other sites",
		[3]string{"https://meet.google.com", "media-stream-camera", "allow"},
		[3]string{"https://meet.google.com", "media-stream-mic", "allow"},
		[3]string{"https://meet.jit.si", "media-stream-camera", "allow"},
		[3]string{"https://www.example.org", "media-stream-mic", "allow"},
		[3]string{"https://notmeet.zoom.us.example.net", "media-stream-camera", "block"})
	// A page load after the decisions: the settings page's messages are
	// handled before the browser navigates away from it.
	if err := chromedp.Do(ctx, chromedp.Navigate(local+"/?video")); err != nil {
		t.Fatal(err)
	}
	// Quit as a person would, so that Chromium writes its Preferences.
	if err := chromedp.Cancel(ctx); err != nil {
		t.Fatalf("close chromium: %v", err)
	}
	ended := time.Now()

	grants, err := Read(context.Background(), home, os.Getuid(), "chromium")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	type row struct {
		Origin             string
		Camera, Microphone bool
		Profile            string
		Used               bool
	}
	var got []row
	for _, g := range grants {
		if !g.Allowed {
			t.Errorf("Read returned a blocked grant: %+v", g)
		}
		if g.Modified.Before(started.Add(-time.Second)) || g.Modified.After(ended.Add(time.Second)) {
			t.Errorf("%s: modified %v, not between %v and %v", g.Origin, g.Modified, started, ended)
		}
		got = append(got, row{g.Origin, g.Camera, g.Microphone, g.Profile, !g.LastUsed.IsZero()})
	}
	want := []row{
		{local, true, false, "Default", true}, // used by the page above
		{"https://meet.google.com", true, false, "Default", false},
		{"https://meet.google.com", false, true, "Default", false},
		{"https://meet.jit.si", true, false, "Default", false},
		{"https://www.example.org", false, true, "Default", false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read from Chromium's own Preferences:\n got %+v\nwant %+v", got, want)
	}
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	sites := Match(grants, cat)
	if wantSites := (Sites{Services: []string{"google-meet", "jitsi-meet"}, Others: 2}); !reflect.DeepEqual(sites, wantSites) {
		t.Errorf("Match = %+v, want %+v", sites, wantSites)
	}

	if *update {
		writeChromiumFixtures(t, userData, version)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// writeChromiumFixtures keeps what this package reads of the recorded
// profile: Preferences' profile.content_settings.exceptions (every type, so
// the parser is seen skipping its neighbours) byte for byte, and Local
// State's profile.info_cache. The rest (extension state, machine-bound
// MACs) is dropped.
func writeChromiumFixtures(t *testing.T, userData, version string) {
	t.Helper()
	var prefs struct {
		Profile struct {
			ContentSettings struct {
				Exceptions json.RawMessage `json:"exceptions"`
			} `json:"content_settings"`
		} `json:"profile"`
	}
	var state struct {
		Profile struct {
			InfoCache json.RawMessage `json:"info_cache"`
		} `json:"profile"`
	}
	for _, f := range []struct {
		name string
		v    any
	}{{"Default/Preferences", &prefs}, {"Local State", &state}} {
		data, err := os.ReadFile(filepath.Join(userData, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, f.v); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
	out := filepath.Join("testdata", "chromium")
	write := func(name string, v any) {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Preferences", map[string]any{"profile": map[string]any{"content_settings": map[string]any{"exceptions": prefs.Profile.ContentSettings.Exceptions}}})
	write("Local State", map[string]any{"profile": map[string]any{"info_cache": state.Profile.InfoCache}})
	if err := os.WriteFile(filepath.Join(out, "VERSION"), []byte(strings.TrimSpace(version)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %s", out)
}
