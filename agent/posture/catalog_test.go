package posture

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// catalogFixtures finds the fixtures of check index of app:
// testdata/catalog/<app>/<index>-holds<suffix>.<ext> and
// <index>-clear<suffix>.<ext>, where the suffix is empty for a file
// written in the client's format and "-real<n>" for one taken from a real
// machine (see the README there).
func catalogFixtures(t *testing.T, app string, index int) (holds, clear []string) {
	t.Helper()
	dir := filepath.Join("testdata", "catalog", app)
	for _, kind := range []string{"holds", "clear"} {
		m, err := filepath.Glob(filepath.Join(dir, strconv.Itoa(index)+"-"+kind+"*"))
		if err != nil {
			t.Fatal(err)
		}
		if kind == "holds" {
			holds = m
		} else {
			clear = m
		}
	}
	return holds, clear
}

// fixtureName matches every fixture file name; fixtureNames checks that
// each file under testdata/catalog/<app> is one, so that a misnamed
// fixture fails instead of being left out.
var fixtureName = regexp.MustCompile(`^([0-9]+)-(holds|clear)(-real[0-9]+)?\.[a-z]+$`)

func fixtureNames(t *testing.T, app string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", "catalog", app))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !fixtureName.MatchString(e.Name()) {
			t.Errorf("testdata/catalog/%s/%s: not a fixture name (<index>-holds|clear[-real<n>].<ext>)", app, e.Name())
			continue
		}
		names = append(names, filepath.Join("testdata", "catalog", app, e.Name()))
	}
	return names
}

// TestCatalogFixtures runs every file check of the embedded catalog over
// its recorded fixtures: a finding where the fixture says it holds, none
// where it says it is clear. The running OS's checks go through Read with
// the fixture placed at the check's own path under a temporary home (and
// system root); every OS's checks also go through the same judging code
// on the bytes, so the macOS and Windows formats are tested here too. A
// check without fixtures fails. Registry checks are tested under Wine
// (registry_windows_test.go), recording folders by the watcher's tests.
func TestCatalogFixtures(t *testing.T) {
	t.Parallel()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]int{}
	used := map[string]bool{}
	for _, app := range cat.Apps() {
		for i, c := range app.Posture {
			if c.File == "" {
				continue
			}
			name := app.ID + "/" + strconv.Itoa(i)
			holds, clear := catalogFixtures(t, app.ID, i)
			if len(holds) == 0 {
				t.Errorf("%s (%s %s %s): no fixture testdata/catalog/%s/%d-holds*", name, c.OS, c.Kind, c.Where(), app.ID, i)
				continue
			}
			if len(clear) == 0 && c.Format != policies.FormatExists {
				t.Errorf("%s (%s %s %s): no fixture testdata/catalog/%s/%d-clear*", name, c.OS, c.Kind, c.Where(), app.ID, i)
				continue
			}
			if len(clear) == 0 {
				clear = []string{""} // the file's absence
			}
			for _, p := range append(holds, clear...) {
				used[p] = true
			}
			t.Run(name, func(t *testing.T) {
				for _, p := range holds {
					judgeFixture(t, c, p, true)
				}
				for _, p := range clear {
					judgeFixture(t, c, p, false)
				}
				if c.OS == runtime.GOOS || (c.OS == "darwin" && runtime.GOOS != "windows") {
					for _, p := range holds {
						readFixture(t, c, p, true)
					}
					for _, p := range clear {
						readFixture(t, c, p, false)
					}
					checked["read"]++
				}
				if _, ok := preferenceDomain(c.File); ok && c.OS == "darwin" && c.Format == policies.FormatPlist && runtime.GOOS != "windows" {
					for _, p := range holds {
						readManagedFixture(t, c, p, true)
					}
					for _, p := range clear {
						readManagedFixture(t, c, p, false)
					}
					checked["managed"]++
				}
			})
			checked[c.OS]++
		}
		for _, p := range fixtureNames(t, app.ID) {
			if !used[p] {
				t.Errorf("%s: no file check of the catalog at this index", orAbsent(p))
			}
		}
	}
	t.Logf("file checks with fixtures, by OS: %v", checked)
	if checked[runtime.GOOS] == 0 && runtime.GOOS != "darwin" {
		t.Errorf("no file check of the catalog for %s", runtime.GOOS)
	}
}

// judgeFixture decides c on the fixture's bytes (path "" is the file's
// absence).
func judgeFixture(t *testing.T, c policies.PostureCheck, path string, want bool) {
	t.Helper()
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	rd, got, err := judgeFile(c, data, path != "")
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if got != want {
		t.Errorf("%s: finding %v (%+v), want %v", orAbsent(path), got, rd, want)
	}
	if got && (rd.Kind != c.Kind || rd.Where != c.Where() || rd.Detail == "") {
		t.Errorf("%s: reading %+v", path, rd)
	}
}

// readFixture places the fixture at the check's path under a temporary
// home and system root, and reads the check through Read.
func readFixture(t *testing.T, c policies.PostureCheck, path string, want bool) {
	t.Helper()
	base := t.TempDir()
	home := filepath.Join(base, "home")
	env := map[string]string{
		"ProgramData":       filepath.Join(base, "ProgramData"),
		"ProgramFiles":      filepath.Join(base, "Program Files"),
		"ProgramFiles(x86)": filepath.Join(base, "Program Files (x86)"),
	}
	r := Reader{SystemRoot: filepath.Join(base, "root"), Getenv: func(k string) string { return env[k] }}
	owner := testOwner(home)
	if path != "" {
		dest, _, err := expandPath(runtime.GOOS, c.File, home, r.Getenv, r.SystemRoot)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dest, string(data))
	}
	got, errs := readCheck(r, c, owner)
	for _, err := range errs {
		t.Errorf("Read %s: %v", orAbsent(path), err)
	}
	if (len(got) == 1) != want || len(got) > 1 {
		t.Errorf("Read %s at %s: readings %+v, want finding %v", orAbsent(path), c.File, got, want)
	}
}

// readCheck reads c through Read where it is the running OS's, and a
// macOS check elsewhere through the same code for darwin (its paths are
// POSIX paths under the temporary home and system root).
func readCheck(r Reader, c policies.PostureCheck, owner Owner) ([]policies.PostureReading, []error) {
	if c.OS == runtime.GOOS {
		return r.Read(context.Background(), []policies.PostureCheck{c}, owner)
	}
	rd, ok, err := r.readOne(c.OS, c, owner)
	if err != nil {
		return nil, []error{err}
	}
	if !ok {
		return nil, nil
	}
	return []policies.PostureReading{rd}, nil
}

// readManagedFixture places a macOS fixture (path "" is no file) as each
// configuration profile's file of the check's preference domain in turn,
// the user's and the computer's, with no other file: the finding is the
// same as from the catalog's file, and a value found is reported as the
// profile's.
func readManagedFixture(t *testing.T, c policies.PostureCheck, path string, want bool) {
	t.Helper()
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range preferenceSources(c.File, "ann") {
		if !s.managed {
			continue
		}
		root := t.TempDir()
		writeFile(t, filepath.Join(root, filepath.FromSlash(s.catalog)), string(data))
		r := Reader{SystemRoot: root}
		rd, got, err := r.readOne("darwin", c, Owner{Home: t.TempDir(), UID: os.Getuid(), User: "ann"})
		if err != nil {
			t.Errorf("%s as %s: %v", orAbsent(path), s.catalog, err)
			continue
		}
		if got != want {
			t.Errorf("%s as %s: finding %v (%+v), want %v", orAbsent(path), s.catalog, got, rd, want)
			continue
		}
		if got && rd.Detail != "not set" && rd.Where != s.where+" ("+c.Key+")" {
			t.Errorf("%s as %s: reading %+v names another file", orAbsent(path), s.catalog, rd)
		}
	}
}

func orAbsent(path string) string {
	if path == "" {
		return "(no file)"
	}
	return strings.TrimPrefix(path, "testdata/")
}
