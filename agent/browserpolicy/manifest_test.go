package browserpolicy

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const hashA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParseManifest(t *testing.T) {
	t.Parallel()
	abs := "/etc/chromium/policies/managed/vcguard.json"
	if runtime.GOOS == "windows" {
		abs = `C:\policies\vcguard.json`
	}
	good := `{"version":1,"targets":{"chromium":{"format":"chromium-file","written":{` + q(abs) + `:"` + hashA + `"},"created":[` + q(filepath.Dir(abs)) + `]},` +
		`"edge":{"format":"chromium-registry","written":{"SOFTWARE\\Policies\\Microsoft\\Edge\\VideoCaptureAllowed":"` + hashA + `"},"pending":{"SOFTWARE\\Policies\\Microsoft\\Edge\\VideoCaptureAllowed":""}}}}`
	m, err := parseManifest([]byte(good), "m.json")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if m.Targets["chromium"].Written[abs] != hashA || m.Targets["edge"].Format != ChromiumRegistry {
		t.Errorf("parsed %+v", m.Targets)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"not json", `{`, "m.json"},
		{"trailing", `{"version":1} {}`, "data after"},
		{"version", `{"version":2}`, "version 2"},
		{"unknown field", `{"version":1,"extra":1}`, "unknown field"},
		{"bad name", `{"version":1,"targets":{"Chrome":{"format":"chromium-file"}}}`, "targets.Chrome"},
		{"null target", `{"version":1,"targets":{"x":null}}`, "null"},
		{"format", `{"version":1,"targets":{"x":{"format":"plist"}}}`, "unknown format"},
		{"relative", `{"version":1,"targets":{"x":{"format":"chromium-file","written":{"etc/x.json":"` + hashA + `"}}}}`, "absolute"},
		{"unclean", `{"version":1,"targets":{"x":{"format":"firefox-file","created":["/etc/../x"]}}}`, "clean"},
		{"hash", `{"version":1,"targets":{"x":{"format":"chromium-file","written":{` + q(abs) + `:"abc"}}}}`, "not a SHA-256"},
		{"upper hash", `{"version":1,"targets":{"x":{"format":"chromium-file","written":{` + q(abs) + `:"` + strings.ToUpper(hashA) + `"}}}}`, "not a SHA-256"},
		{"pending alone", `{"version":1,"targets":{"x":{"format":"chromium-file","pending":{` + q(abs) + `:""}}}}`, "not in written"},
		{"registry slash", `{"version":1,"targets":{"x":{"format":"firefox-registry","created":["SOFTWARE/x"]}}}`, "registry path"},
		{"registry leading", `{"version":1,"targets":{"x":{"format":"firefox-registry","created":["\\SOFTWARE"]}}}`, "registry path"},
		{"twice", `{"version":1,"targets":{"x":{"format":"chromium-file","created":[` + q(abs) + `,` + q(abs) + `]}}}`, "listed twice"},
		{"nul", `{"version":1,"targets":{"x":{"format":"chromium-registry","created":["A\u0000B"]}}}`, "NUL"},
		{"large", strings.Repeat(" ", maxManifestBytes+1), "at most"},
	} {
		if _, err := parseManifest([]byte(tc.in), "m.json"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parse = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func q(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }

// A manifest that is a link or not a file is refused, and a missing one is
// empty.
func TestLoadManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := loadManifest(filepath.Join(dir, ManifestName))
	if err != nil || len(m.Targets) != 0 {
		t.Fatalf("missing manifest: %v, %+v", err, m)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := loadManifest(filepath.Join(dir, "d")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "real"), []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadManifest(filepath.Join(dir, "link")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a link: %v", err)
	}
}

// A damaged manifest stops Apply with an error naming it, and nothing is
// written.
func TestApplyRefusesDamagedManifest(t *testing.T) {
	t.Parallel()
	f := newFakeEtc(t)
	writeFile(t, filepath.Join(f.state, ManifestName), `{"version":1,"targets":{"x":{"format":"chromium-file","written":{"relative.json":"`+hashA+`"}}}}`)
	_, err := f.writer(t).Apply(&testSpec)
	if err == nil || !strings.Contains(err.Error(), ManifestName) || !strings.Contains(err.Error(), "targets.x.written") {
		t.Fatalf("Apply = %v, want the manifest and field named", err)
	}
	mustNotExist(t, f.chromium)
}

// FuzzParseManifest: the manifest parser never panics, and what it
// accepts survives a save and a reload unchanged.
func FuzzParseManifest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "manifest-*.json"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"targets":{"x":{"format":"firefox-registry","written":{"A\\B":"` + hashA + `"},"pending":{"A\\B":""},"created":["A"]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b, "fuzz")
		if err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), ManifestName)
		if err := m.save(path); err != nil {
			t.Fatal(err)
		}
		again, err := loadManifest(path)
		if err != nil {
			t.Fatalf("a manifest that parsed does not reload after save: %v", err)
		}
		for name, r := range m.Targets {
			r2 := again.Targets[name]
			if r2 == nil || r2.Format != r.Format || len(r2.Written) != len(r.Written) || len(r2.Created) != len(r.Created) {
				t.Fatalf("target %s changed on reload: %+v -> %+v", name, r, r2)
			}
		}
	})
}
