package browserpolicy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The end-to-end tests write the real system-wide policy places of Debian's
// Chromium and Firefox ESR, start the real browsers headless with fake
// capture devices, and see which origin gets the camera and microphone.
// They need root (the test machine and CI run as root): without it they are
// skipped, unless VCGUARD_REQUIRE_CHROMIUM / VCGUARD_REQUIRE_FIREFOX is set,
// which turns a missing browser or root into a failure.

// needRoot skips (or fails, with the require variable set) when the test
// cannot write /etc.
func needRoot(t *testing.T, require string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	const msg = "writing the browsers' system-wide policies in /etc needs root"
	if os.Getenv(require) != "" {
		t.Fatalf("%s (%s is set)", msg, require)
	}
	t.Skip(msg)
}

// findBrowser finds the first of names in PATH, or skips (fails with the
// require variable set).
func findBrowser(t *testing.T, require, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := "no " + strings.Join(names, " or ") + " in PATH: install it (apt-get install " + pkg + ")"
	if os.Getenv(require) != "" {
		t.Fatalf("%s (%s is set)", msg, require)
	}
	t.Skip(msg)
	return ""
}

// cameraPage is a test web server on 127.0.0.1 (a secure context, so
// getUserMedia is offered) whose page asks for the camera, then the
// microphone, and reports "video=<result> audio=<result>", where a result
// is "ok" or the error's name (NotAllowedError when refused). The result
// is window.result in the page and is POSTed back to the server (for
// browsers the test cannot drive). A click on the button #share (screen
// sharing needs a user's gesture) asks to share the page's own tab;
// window.screenResult is "ok" or the error's name.
type cameraPage struct {
	*httptest.Server
	results chan string
}

const cameraHTML = `<!doctype html>
<html><head><title>camera probe</title></head><body>
<button id="share">share</button>
<script>
async function probe(constraints) {
  try {
    const s = await navigator.mediaDevices.getUserMedia(constraints);
    s.getTracks().forEach(t => t.stop());
    return "ok";
  } catch (e) {
    return e.name;
  }
}
window.result = (async () => {
  const r = "video=" + await probe({video: true}) + " audio=" + await probe({audio: true});
  await fetch("/result", {method: "POST", body: r});
  document.title = r;
  return r;
})();
window.screenResult = new Promise(resolve => {
  document.getElementById("share").onclick = () =>
    navigator.mediaDevices.getDisplayMedia({video: true, preferCurrentTab: true}).then(
      s => { s.getTracks().forEach(t => t.stop()); resolve("ok"); },
      e => resolve(e.name));
});
</script>
</body></html>
`

func newCameraPage(t *testing.T) *cameraPage {
	t.Helper()
	p := &cameraPage{results: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, cameraHTML)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 256))
		select {
		case p.results <- string(b):
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// origin is the page's origin as the policy lists it.
func (p *cameraPage) origin() string { return p.URL }

// systemTarget returns a target at path and a Writer for it whose state
// lives in a test directory; at cleanup, even after a failure, everything
// it wrote is removed. When path exists the test is skipped (failed with
// the require variable set): it never touches a file it did not write.
func systemTarget(t *testing.T, require, name string, format Format, path string) *Writer {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		msg := path + " exists already: this test does not touch a policy file it did not write; move it away to run the test"
		if os.Getenv(require) != "" {
			t.Fatalf("%s (%s is set)", msg, require)
		}
		t.Skip(msg)
	}
	w, err := New(Config{StateDir: t.TempDir(), Targets: []Target{{Name: name, Format: format, Path: path}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := w.Apply(nil); err != nil {
			t.Errorf("cleanup: remove the policy: %v", err)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("cleanup: %s is still there", path)
		}
	})
	return w
}

// createdDirs lists the directories above path that do not exist yet
// (vcguard creates them, and must remove them again).
func createdDirs(path string) []string {
	var out []string
	for d := filepath.Dir(path); d != "/"; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		out = append(out, d)
	}
	return out
}
