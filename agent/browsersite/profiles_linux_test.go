package browsersite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vcguard/vcguard/policies"
)

type profileGrant struct {
	Profile, Origin    string
	Camera, Microphone bool
}

func profileGrants(gs []Grant) []profileGrant {
	var out []profileGrant
	for _, g := range gs {
		if !g.Allowed {
			continue
		}
		out = append(out, profileGrant{g.Profile, g.Origin, g.Camera, g.Microphone})
	}
	return out
}

const zoomPrefs = `{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{"https://app.zoom.us:443,*":{"setting":1,"last_modified":"13441022742933956"}}}}}}`

// TestReadChromium walks a home laid out as Chromium lays it out on Linux,
// with the recorded files: Local State's profiles, the Default profile's
// recorded Preferences, a second profile, a listed profile without a
// directory, and a profile directory Local State does not list.
func TestReadChromium(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	root := filepath.Join(home, ".config/chromium")
	writeFile(t, filepath.Join(root, "Local State"), `{"profile":{"info_cache":{"Default":{},"Profile 1":{},"Profile 9":{}}}}`)
	writeFile(t, filepath.Join(root, "Default/Preferences"), string(readFixture(t, "chromium/Preferences")))
	writeFile(t, filepath.Join(root, "Profile 1/Preferences"), zoomPrefs)
	writeFile(t, filepath.Join(root, "Profile 2/Preferences"), zoomPrefs) // not listed: not read
	if err := os.MkdirAll(filepath.Join(root, "System Profile"), 0o700); err != nil {
		t.Fatal(err)
	}

	dirs, err := Profiles(home, os.Getuid(), "chromium")
	if want := []string{filepath.Join(root, "Default"), filepath.Join(root, "Profile 1")}; err != nil || !reflect.DeepEqual(dirs, want) {
		t.Errorf("Profiles = %q, %v; want %q", dirs, err, want)
	}
	grants, err := Read(context.Background(), home, os.Getuid(), "chromium")
	if err != nil {
		t.Fatal(err)
	}
	want := []profileGrant{
		{"Default", "http://127.0.0.1:46101", true, false},
		{"Profile 1", "https://app.zoom.us", true, false},
		{"Default", "https://meet.google.com", true, false},
		{"Default", "https://meet.google.com", false, true},
		{"Default", "https://meet.jit.si", true, false},
		{"Default", "https://www.example.org", false, true},
	}
	if got := profileGrants(grants); !reflect.DeepEqual(got, want) {
		t.Errorf("Read:\n got %+v\nwant %+v", got, want)
	}
	for _, g := range grants {
		if !g.Allowed {
			t.Errorf("Read returned a blocked grant %+v", g)
		}
	}
}

func TestReadChromiumDamaged(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	root := filepath.Join(home, ".config/google-chrome")
	// A Local State that tries to lead elsewhere: refused, but Default is
	// still read.
	writeFile(t, filepath.Join(root, "Local State"), `{"profile":{"info_cache":{"../../../etc":{}}}}`)
	writeFile(t, filepath.Join(root, "Default/Preferences"), zoomPrefs)
	// The beta channel's profile is a symlink: refused, named in the error.
	beta := filepath.Join(home, ".config/google-chrome-beta")
	writeFile(t, filepath.Join(home, "elsewhere/Preferences"), zoomPrefs)
	if err := os.MkdirAll(beta, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(home, "elsewhere"), filepath.Join(beta, "Default")); err != nil {
		t.Fatal(err)
	}
	// The unstable channel's Preferences is broken JSON.
	writeFile(t, filepath.Join(home, ".config/google-chrome-unstable/Default/Preferences"), `{"profile":`)

	grants, err := Read(context.Background(), home, os.Getuid(), "chrome")
	if got, want := profileGrants(grants), []profileGrant{{"Default", "https://app.zoom.us", true, false}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %+v, want %+v", got, want)
	}
	if err == nil {
		t.Fatal("no error for the damaged profiles")
	}
	for _, part := range []string{
		"google-chrome/Local State: profile.info_cache: a profile's key is not a directory name",
		"google-chrome-unstable/Default/Preferences: invalid JSON at byte 11",
	} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	if strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("error %q: the symlinked profile was followed", err)
	}
}

// TestReadOpera: Opera keeps its one profile in the user-data directory.
func TestReadOpera(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".config/opera/Preferences"), zoomPrefs)
	writeFile(t, filepath.Join(home, ".config/opera/Local State"), `{"profile":{"info_cache":{}}}`)
	grants, err := Read(context.Background(), home, os.Getuid(), "opera")
	if got, want := profileGrants(grants), []profileGrant{{"opera", "https://app.zoom.us", true, false}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %+v, %v; want %+v", got, err, want)
	}
}

// TestReadFirefox walks a home laid out as Firefox 153 ESR laid it out
// (~/.config/mozilla/firefox, as recorded) and as older releases do
// (~/.mozilla/firefox), with the recorded profiles.ini and
// permissions.sqlite.
func TestReadFirefox(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	db := string(readFixture(t, "firefox/permissions.sqlite"))
	xdg := filepath.Join(home, ".config/mozilla/firefox")
	writeFile(t, filepath.Join(xdg, "profiles.ini"), string(readFixture(t, "firefox/profiles.ini")))
	writeFile(t, filepath.Join(xdg, "b9cjryub.vcguard/permissions.sqlite"), db)
	legacy := filepath.Join(home, ".mozilla/firefox")
	writeFile(t, filepath.Join(legacy, "profiles.ini"), "[Profile0]\nPath=Profiles/new.default\n[Profile1]\nIsRelative=0\nPath=/etc/firefox\n"+
		"[Profile2]\nIsRelative=0\nPath="+filepath.Join(home, "abs.profile")+"\n[Profile3]\nPath=empty.default\n")
	writeFile(t, filepath.Join(home, "abs.profile/permissions.sqlite"), string(sqliteFile(t, mozPermsTable,
		`INSERT INTO moz_perms VALUES (1, 'https://teams.microsoft.com', 'microphone', 1, 0, 0, 0)`)))
	if err := os.MkdirAll(filepath.Join(legacy, "Profiles/new.default"), 0o700); err != nil { // no permissions.sqlite yet
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(legacy, "empty.default/permissions.sqlite"), "") // an empty file is no database

	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) // before whereby's grant expires
	grants, err := readAt(context.Background(), home, os.Getuid(), "firefox", now)
	want := []profileGrant{
		{"b9cjryub.vcguard", "http://127.0.0.1:39851", true, false},
		{"b9cjryub.vcguard", "https://app.element.io", false, true},
		{"b9cjryub.vcguard", "https://meet.jit.si", true, false},
		{"b9cjryub.vcguard", "https://meet.jit.si", false, true},
		{"abs.profile", "https://teams.microsoft.com", false, true},
		{"b9cjryub.vcguard", "https://whereby.com", true, false},
		{"b9cjryub.vcguard", "https://www.example.org:8443", true, false},
	}
	if got := profileGrants(grants); !reflect.DeepEqual(got, want) {
		t.Errorf("Read:\n got %+v\nwant %+v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "a profile outside the home directory is not read") ||
		!strings.Contains(err.Error(), "empty.default: permissions.sqlite: no table moz_perms") {
		t.Errorf("err = %v, want the profile outside home and the empty database named", err)
	}
	// A day later whereby's grant has expired.
	later, _ := readAt(context.Background(), home, os.Getuid(), "firefox", now.Add(24*time.Hour))
	for _, g := range later {
		if g.Host == "whereby.com" {
			t.Errorf("expired grant returned: %+v", g)
		}
	}
}

func TestReadUnsupported(t *testing.T) {
	t.Parallel()
	for _, app := range []string{"safari", "zoom", ""} {
		if _, err := Read(context.Background(), t.TempDir(), os.Getuid(), app); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Read(%q) err = %v, want ErrUnsupported", app, err)
		}
	}
	// A browser that is not installed: nothing, no error.
	if gs, err := Read(context.Background(), t.TempDir(), os.Getuid(), "vivaldi"); gs != nil || err != nil {
		t.Errorf("Read(vivaldi) in an empty home = %+v, %v", gs, err)
	}
}

// TestBrowserDirsCoverCatalogBrowsers: every catalog browser but Safari has
// a layout on Linux.
func TestBrowserDirsCoverCatalogBrowsers(t *testing.T) {
	t.Parallel()
	cat := embeddedCatalog(t)
	for _, a := range cat.Apps() {
		if a.Category != "browser" || a.ID == "safari" {
			continue
		}
		if len(browserDirs[a.ID]) == 0 {
			t.Errorf("catalog browser %q has no profile location on linux", a.ID)
		}
	}
	for id := range browserDirs {
		if a, ok := cat.App(id); !ok || a.Category != "browser" {
			t.Errorf("browserDirs has %q, which is no catalog browser", id)
		}
	}
}

func embeddedCatalog(t *testing.T) *policies.Catalog {
	t.Helper()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}
