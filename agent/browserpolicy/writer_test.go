package browserpolicy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

var testSpec = Spec{AllowedOrigins: []string{"https://meet.example.org", "https://bbb.example.org"}}

// fakeEtc is a root holding the Linux layout under a test directory: the
// Chromium and Firefox paths the tests write.
type fakeEtc struct {
	root                  string
	chromiumDir, chromium string // managed directory and vcguard's file in it
	firefoxDir, firefox   string // policies directory and policies.json
	state                 string
	targets               []Target
}

func newFakeEtc(t *testing.T) *fakeEtc {
	t.Helper()
	root := t.TempDir()
	f := &fakeEtc{
		root:        root,
		chromiumDir: filepath.Join(root, "etc", "chromium", "policies", "managed"),
		firefoxDir:  filepath.Join(root, "etc", "firefox", "policies"),
		state:       filepath.Join(root, "state"),
	}
	f.chromium = filepath.Join(f.chromiumDir, "vcguard.json")
	f.firefox = filepath.Join(f.firefoxDir, "policies.json")
	// /etc/chromium exists (Debian's chromium ships master_preferences
	// there); its policies directory does not.
	for _, d := range []string{filepath.Join(root, "etc", "chromium"), f.state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(f.state, 0o700); err != nil {
		t.Fatal(err)
	}
	f.targets = []Target{
		{Name: "chromium", Format: ChromiumFile, Path: f.chromium},
		{Name: "firefox", Format: FirefoxFile, Path: f.firefox},
	}
	return f
}

func (f *fakeEtc) writer(t *testing.T, targets ...Target) *Writer {
	t.Helper()
	if targets == nil {
		targets = f.targets
	}
	w, err := New(Config{StateDir: f.state, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func apply(t *testing.T, w *Writer, s *Spec) Report {
	t.Helper()
	rep, err := w.Apply(s)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return rep
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("%s still exists (err %v)", path, err)
	}
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func checkList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !sameSet(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// The first Apply writes both files, creating the directories that were
// missing; the second finds them unchanged; Apply(nil) removes the files
// and the directories it created, and leaves /etc/chromium, which it did
// not create.
func TestApplyWritesKeepsRemoves(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	w := f.writer(t)
	rep := apply(t, w, &testSpec)
	checkList(t, "written", rep.Written, f.chromium, f.firefox)
	if len(rep.Skipped)+len(rep.Removed)+len(rep.Unchanged)+len(rep.Restored) != 0 {
		t.Errorf("first apply: %+v, want only written", rep)
	}
	s, _ := testSpec.normalize()
	if got := readFile(t, f.chromium); got != string(chromiumJSON(s)) {
		t.Errorf("chromium file:\n%s", got)
	}
	if got := readFile(t, f.firefox); got != string(firefoxJSON(s)) {
		t.Errorf("firefox file:\n%s", got)
	}
	if runtime.GOOS != "windows" {
		for _, p := range []string{f.chromium, f.firefox, f.chromiumDir, filepath.Dir(f.chromiumDir), f.firefoxDir} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o644)
			if fi.IsDir() {
				want = 0o755
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v (browsers run as the user)", p, fi.Mode().Perm(), want)
			}
		}
		fi, err := os.Stat(filepath.Join(f.state, ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("manifest mode %v, want 0600", fi.Mode().Perm())
		}
	}

	// The same spec in another order changes nothing.
	rep = apply(t, f.writer(t), &Spec{AllowedOrigins: []string{"https://bbb.example.org", "https://meet.example.org/"}})
	checkList(t, "unchanged", rep.Unchanged, f.chromium, f.firefox)
	checkList(t, "written on the second apply", rep.Written)

	// Another spec rewrites both.
	rep = apply(t, w, &Spec{AllowedOrigins: []string{"https://meet.example.org"}, BlockScreenCapture: true})
	checkList(t, "written on change", rep.Written, f.chromium, f.firefox)
	checkList(t, "restored on change", rep.Restored)
	if got := readFile(t, f.chromium); !strings.Contains(got, `"ScreenCaptureAllowed": false`) || strings.Contains(got, "bbb") {
		t.Errorf("chromium file after the change:\n%s", got)
	}

	rep = apply(t, w, nil)
	checkList(t, "removed", rep.Removed, f.chromium, f.chromiumDir, filepath.Dir(f.chromiumDir),
		f.firefox, f.firefoxDir, filepath.Dir(f.firefoxDir))
	mustNotExist(t, filepath.Dir(f.chromiumDir))
	mustNotExist(t, filepath.Join(f.root, "etc", "firefox"))
	if _, err := os.Stat(filepath.Join(f.root, "etc", "chromium")); err != nil {
		t.Errorf("/etc/chromium, which vcguard did not create: %v", err)
	}
	m, err := loadManifest(filepath.Join(f.state, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Targets) != 0 {
		t.Errorf("manifest after removal: %+v, want empty", m.Targets)
	}
	// Removing again has nothing to do.
	rep = apply(t, w, nil)
	if len(rep.Removed)+len(rep.Written)+len(rep.Skipped) != 0 {
		t.Errorf("second removal: %+v", rep)
	}
}

// Other files in the managed directory are never touched, and the
// directory vcguard created stays while they are there.
func TestApplyLeavesOthersFiles(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	w := f.writer(t)
	apply(t, w, &testSpec)
	theirs := filepath.Join(f.chromiumDir, "corp.json")
	writeFile(t, theirs, `{"HomepageLocation": "https://intranet.example.org"}`)
	apply(t, w, &Spec{AllowedOrigins: []string{"https://meet.example.org"}})
	rep := apply(t, w, nil)
	if got := readFile(t, theirs); got != `{"HomepageLocation": "https://intranet.example.org"}` {
		t.Errorf("another file of the managed directory changed: %q", got)
	}
	mustNotExist(t, f.chromium)
	if slices.Contains(rep.Removed, f.chromiumDir) {
		t.Errorf("removed %s, which holds another file", f.chromiumDir)
	}
	// Once that file is gone, the next removal takes the directories
	// vcguard created.
	if err := os.Remove(theirs); err != nil {
		t.Fatal(err)
	}
	rep = apply(t, w, nil)
	checkList(t, "removed once empty", rep.Removed, f.chromiumDir, filepath.Dir(f.chromiumDir))
}

// A directory that existed before is never removed, even when empty.
func TestApplyKeepsDirectoriesItDidNotCreate(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	if err := os.MkdirAll(f.chromiumDir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := f.writer(t, f.targets[0])
	apply(t, w, &testSpec)
	rep := apply(t, w, nil)
	checkList(t, "removed", rep.Removed, f.chromium)
	if _, err := os.Stat(f.chromiumDir); err != nil {
		t.Errorf("the managed directory that existed before: %v", err)
	}
}

// vcguard's own Chromium file, changed or deleted by someone, is rewritten
// and reported restored.
func TestApplyRestoresItsOwnFile(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	w := f.writer(t, f.targets[0])
	apply(t, w, &testSpec)
	want := readFile(t, f.chromium)
	writeFile(t, f.chromium, `{"VideoCaptureAllowed": true}`)
	rep := apply(t, w, &testSpec)
	checkList(t, "restored after a change", rep.Restored, f.chromium)
	checkList(t, "written after a change", rep.Written, f.chromium)
	if got := readFile(t, f.chromium); got != want {
		t.Errorf("after restoring:\n%s", got)
	}
	if err := os.Remove(f.chromium); err != nil {
		t.Fatal(err)
	}
	rep = apply(t, w, &testSpec)
	checkList(t, "restored after removal", rep.Restored, f.chromium)
	if got := readFile(t, f.chromium); got != want {
		t.Errorf("after restoring:\n%s", got)
	}
	// Changed again, it is still vcguard's to remove.
	writeFile(t, f.chromium, `{}`)
	rep = apply(t, w, nil)
	checkList(t, "removed", rep.Removed, f.chromium, f.chromiumDir, filepath.Dir(f.chromiumDir))
}

// A policies.json vcguard did not write is never touched: the target is
// skipped, with what IT should add to it.
func TestApplySkipsForeignFirefoxFile(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	const theirs = `{"policies": {"DisableTelemetry": true}}`
	writeFile(t, f.firefox, theirs)
	w := f.writer(t)
	rep := apply(t, w, &testSpec)
	checkList(t, "written", rep.Written, f.chromium)
	if len(rep.Skipped) != 1 || rep.Skipped[0].Target != "firefox" {
		t.Fatalf("skipped %+v, want firefox", rep.Skipped)
	}
	reason := rep.Skipped[0].Reason
	for _, want := range []string{f.firefox, "not written by vcguard", `"Permissions":{"Camera":{"Allow":["https://bbb.example.org","https://meet.example.org"],"BlockNewRequests":true,"Locked":true}`} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
	if got := readFile(t, f.firefox); got != theirs {
		t.Errorf("foreign policies.json changed: %q", got)
	}
	rep = apply(t, w, nil)
	if got := readFile(t, f.firefox); got != theirs {
		t.Errorf("foreign policies.json changed by removal: %q", got)
	}
	if _, err := os.Stat(f.firefoxDir); err != nil {
		t.Errorf("foreign policies directory: %v", err)
	}
	checkList(t, "removed", rep.Removed, f.chromium, f.chromiumDir, filepath.Dir(f.chromiumDir))
}

// A policies.json vcguard wrote and someone changed since is theirs:
// neither overwritten nor removed.
func TestApplyLeavesChangedFirefoxFile(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	w := f.writer(t, f.targets[1])
	apply(t, w, &testSpec)
	const edited = `{"policies": {"Permissions": {}, "DisableTelemetry": true}}`
	writeFile(t, f.firefox, edited)
	rep := apply(t, w, &testSpec)
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, "changed since vcguard wrote it") {
		t.Fatalf("skipped %+v, want firefox, changed since vcguard wrote it", rep.Skipped)
	}
	checkList(t, "written", rep.Written)
	rep = apply(t, w, nil)
	checkList(t, "removed", rep.Removed)
	if got := readFile(t, f.firefox); got != edited {
		t.Errorf("edited policies.json changed: %q", got)
	}
}

// A vcguard.json that exists without a record (another tool's, or a
// deployment whose manifest is lost) is not taken over.
func TestApplySkipsUnrecordedOwnName(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	writeFile(t, f.chromium, `{"VideoCaptureAllowed": true}`)
	rep := apply(t, f.writer(t, f.targets[0]), &testSpec)
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, f.chromium) || !strings.Contains(rep.Skipped[0].Reason, `"VideoCaptureAllowed":false`) {
		t.Fatalf("skipped %+v, want chromium naming %s and what to set", rep.Skipped, f.chromium)
	}
	if got := readFile(t, f.chromium); got != `{"VideoCaptureAllowed": true}` {
		t.Errorf("unrecorded file changed: %q", got)
	}
}

// A target dropped from the configuration loses what vcguard wrote for it.
func TestApplyRemovesDroppedTarget(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	apply(t, f.writer(t), &testSpec)
	rep := apply(t, f.writer(t, f.targets[0]), &testSpec)
	checkList(t, "unchanged", rep.Unchanged, f.chromium)
	checkList(t, "removed", rep.Removed, f.firefox, f.firefoxDir, filepath.Dir(f.firefoxDir))
}

// A write that was recorded but did not finish (the agent killed between
// saving the manifest and renaming the file) leaves the old content, which
// is still taken for vcguard's.
func TestApplyAfterInterruptedWrite(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	w := f.writer(t, f.targets[1])
	apply(t, w, &testSpec)
	old := readFile(t, f.firefox)
	// What Apply records before writing another spec.
	next, _ := Spec{AllowedOrigins: []string{"https://meet.example.org"}}.normalize()
	mpath := filepath.Join(f.state, ManifestName)
	m, err := loadManifest(mpath)
	if err != nil {
		t.Fatal(err)
	}
	rec := m.record("firefox", FirefoxFile)
	rec.Pending[f.firefox] = sum([]byte(old))
	rec.Written[f.firefox] = sum(firefoxJSON(next))
	if err := m.save(mpath); err != nil {
		t.Fatal(err)
	}
	rep := apply(t, w, &Spec{AllowedOrigins: []string{"https://meet.example.org"}})
	checkList(t, "written", rep.Written, f.firefox)
	if len(rep.Skipped) != 0 {
		t.Errorf("skipped %+v: its own half-written file taken for someone else's", rep.Skipped)
	}
}

func TestApplyRefusesSymlinks(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("creating symbolic links needs a privilege on Windows; the file formats are Linux's")
	}
	f := newFakeEtc(t)
	elsewhere := filepath.Join(f.root, "elsewhere")
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	// The policies directory is a link.
	if err := os.Symlink(elsewhere, filepath.Join(f.root, "etc", "chromium", "policies")); err != nil {
		t.Fatal(err)
	}
	// policies.json is a link.
	writeFile(t, filepath.Join(elsewhere, "target.json"), "{}")
	if err := os.MkdirAll(f.firefoxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "target.json"), f.firefox); err != nil {
		t.Fatal(err)
	}
	rep := apply(t, f.writer(t), &testSpec)
	if len(rep.Skipped) != 2 || len(rep.Written) != 0 {
		t.Fatalf("report %+v, want both targets skipped", rep)
	}
	for _, s := range rep.Skipped {
		if !strings.Contains(s.Reason, "symbolic link") {
			t.Errorf("%s skipped for %q, want a symbolic link named", s.Target, s.Reason)
		}
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 1 || readFile(t, filepath.Join(elsewhere, "target.json")) != "{}" {
		t.Errorf("something was written through a link: %v", ents)
	}
}

func TestApplyRefusesDirectoryOthersMayWrite(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("modes: Windows has access lists; the file formats are Linux's")
	}
	f := newFakeEtc(t)
	if err := os.MkdirAll(f.chromiumDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.chromiumDir, 0o777); err != nil {
		t.Fatal(err)
	}
	rep := apply(t, f.writer(t, f.targets[0]), &testSpec)
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, "writable by group or others") {
		t.Fatalf("report %+v, want the directory refused", rep)
	}
	mustNotExist(t, f.chromium)
}

// An invalid spec is an error and writes nothing.
func TestApplyRefusesInvalidSpec(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	_, err := f.writer(t).Apply(&Spec{AllowedOrigins: []string{"https://meet.example.org/room"}})
	if err == nil || !strings.Contains(err.Error(), "allowed origins[0]") {
		t.Fatalf("Apply = %v, want the origin refused", err)
	}
	mustNotExist(t, filepath.Join(f.root, "etc", "chromium", "policies"))
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	ok := Target{Name: "chromium", Format: ChromiumFile, Path: filepath.Join(state, "x.json")}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"relative state", Config{StateDir: "state", Targets: []Target{ok}}, "absolute"},
		{"missing state", Config{StateDir: filepath.Join(state, "nope"), Targets: []Target{ok}}, "state directory"},
		{"bad name", Config{StateDir: state, Targets: []Target{{Name: "Chrome", Format: ChromiumFile, Path: ok.Path}}}, "lower-case"},
		{"twice", Config{StateDir: state, Targets: []Target{ok, ok}}, "used twice"},
		{"format", Config{StateDir: state, Targets: []Target{{Name: "x", Format: "plist", Path: ok.Path}}}, "unknown format"},
		{"relative path", Config{StateDir: state, Targets: []Target{{Name: "x", Format: ChromiumFile, Path: "x.json"}}}, "absolute"},
		{"not json", Config{StateDir: state, Targets: []Target{{Name: "x", Format: ChromiumFile, Path: filepath.Join(state, "x.txt")}}}, ".json"},
		{"registry", Config{StateDir: state, Targets: []Target{{Name: "x", Format: ChromiumRegistry, Path: `\SOFTWARE\x`}}}, "registry path"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if runtime.GOOS != "windows" {
		open := t.TempDir()
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{StateDir: open, Targets: []Target{ok}}); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("state directory 0777: New = %v", err)
		}
	}
}

// The manifest says, per target, what was written with its hash.
func TestManifestContent(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	apply(t, f.writer(t), &testSpec)
	var m struct {
		Version int
		Targets map[string]struct {
			Format  string
			Written map[string]string
			Created []string
		}
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(f.state, ManifestName))), &m); err != nil {
		t.Fatal(err)
	}
	c := m.Targets["chromium"]
	if c.Format != "chromium-file" || c.Written[f.chromium] != sum([]byte(readFile(t, f.chromium))) {
		t.Errorf("chromium record %+v", c)
	}
	if !slices.Equal(c.Created, []string{filepath.Dir(f.chromiumDir), f.chromiumDir}) {
		t.Errorf("chromium created %q, want the policies and managed directories, parents first", c.Created)
	}
}

// A macOS preference domain is never written: Apply says to install the
// profile, and removal has nothing to do.
func TestApplyManagedPreferences(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	w := f.writer(t, Target{Name: "chrome", Format: ManagedPreferences, Path: "com.google.Chrome"})
	rep := apply(t, w, &testSpec)
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, "com.google.Chrome") || !strings.Contains(rep.Skipped[0].Reason, "profile") {
		t.Errorf("report %+v, want chrome skipped, naming the domain and the profile", rep)
	}
	if ents, _ := os.ReadDir(f.state); len(ents) != 0 {
		t.Errorf("state directory holds %v, want nothing written", ents)
	}
	if rep := apply(t, w, nil); len(rep.Skipped)+len(rep.Removed) != 0 {
		t.Errorf("removal: %+v, want nothing", rep)
	}
}

// Chrome and Edge share /etc/opt, which the first of them created: once
// both are removed, so is /etc/opt, though it only emptied after the
// target that created it was done.
func TestApplyRemovesSharedParentItCreated(t *testing.T) {
	f := newFakeEtc(t)
	etc := filepath.Join(f.root, "etc")
	if err := os.Chmod(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	targets := []Target{
		{Name: "chrome", Format: ChromiumFile, Path: filepath.Join(etc, "opt", "chrome", "policies", "managed", "vcguard.json")},
		{Name: "edge", Format: ChromiumFile, Path: filepath.Join(etc, "opt", "edge", "policies", "managed", "vcguard.json")},
	}
	w := f.writer(t, targets...)
	if _, err := w.Apply(&testSpec); err != nil {
		t.Fatal(err)
	}
	rep, err := w.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(etc, "opt")); !os.IsNotExist(err) {
		t.Errorf("%s/opt is still there (%v); removed %q", etc, err, rep.Removed)
	}
	if !slices.Contains(rep.Removed, filepath.Join(etc, "opt")) {
		t.Errorf("removal report %q does not name %s/opt", rep.Removed, etc)
	}
}
