package appconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestReadersMatchCatalog(t *testing.T) {
	t.Parallel()
	var ids []string
	for _, r := range Readers() {
		ids = append(ids, r.AppID())
		if _, err := os.Stat(filepath.Join("..", "..", "policies", "catalog", r.AppID()+".yaml")); err != nil {
			t.Errorf("reader %s has no catalog entry: %v", r.AppID(), err)
		}
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("reader ids %v are not sorted and unique", ids)
	}
}

// TestPathTables checks every OS's column of every reader as data: paths
// are relative, slash separated, and where a column is filled it holds the
// locations the apps document.
func TestPathTables(t *testing.T) {
	t.Parallel()
	want := map[string]osPaths{
		"element": {
			// config.json, then the userData folders whose local storage
			// holds the signed-in session.
			Linux: []string{".config/Element/config.json", ".var/app/im.riot.Riot/config/Element/config.json", "snap/element-desktop/current/.config/Element/config.json", ".config/Riot/config.json",
				".config/Element", ".var/app/im.riot.Riot/config/Element", "snap/element-desktop/current/.config/Element", ".config/Riot"},
			Windows: []string{"AppData/Roaming/Element/config.json", "AppData/Roaming/Riot/config.json", "AppData/Roaming/Element", "AppData/Roaming/Riot"},
			Darwin: []string{"Library/Application Support/Element/config.json", "Library/Application Support/Riot/config.json",
				"Library/Application Support/Element", "Library/Application Support/Riot"},
		},
		"jitsi-meet": {
			Linux:   []string{".config/Jitsi Meet", ".var/app/org.jitsi.jitsi-meet/config/Jitsi Meet", "snap/jitsi-meet-desktop/current/.config/Jitsi Meet"},
			Windows: []string{"AppData/Roaming/Jitsi Meet"},
			Darwin:  []string{"Library/Application Support/Jitsi Meet"},
		},
		"mattermost": {
			Linux:   []string{".config/Mattermost/config.json", ".var/app/com.mattermost.Desktop/config/Mattermost/config.json", "snap/mattermost-desktop/current/.config/Mattermost/config.json"},
			Windows: []string{"AppData/Roaming/Mattermost/config.json"},
			Darwin: []string{"Library/Application Support/Mattermost/config.json",
				"Library/Containers/Mattermost.Desktop/Data/Library/Application Support/Mattermost/config.json"},
		},
		"microsoft-teams-classic": {
			Linux:   []string{".config/Microsoft/Microsoft Teams/desktop-config.json"},
			Windows: []string{"AppData/Roaming/Microsoft/Teams/desktop-config.json"},
			Darwin:  []string{"Library/Application Support/Microsoft/Teams/desktop-config.json"},
		},
		"rocket-chat": {
			Linux: []string{".config/Rocket.Chat/config.json", ".var/app/chat.rocket.RocketChat/config/Rocket.Chat/config.json",
				"snap/rocketchat-desktop/current/.config/Rocket.Chat/config.json"},
			Windows: []string{"AppData/Roaming/Rocket.Chat/config.json"},
			Darwin: []string{"Library/Application Support/Rocket.Chat/config.json",
				"Library/Containers/chat.rocket/Data/Library/Application Support/Rocket.Chat/config.json"},
		},
		"zoom": {
			Linux:  []string{".config/zoomus.conf", ".var/app/us.zoom.Zoom/config/zoomus.conf"},
			Darwin: []string{"Library/Preferences/ZoomChat.plist"},
		},
	}
	for _, r := range Readers() {
		ar, ok := r.(appReader)
		if !ok {
			t.Fatalf("%s: not an appReader", r.AppID())
		}
		var got osPaths
		for _, s := range ar.sources {
			got.Linux = append(got.Linux, s.paths.Linux...)
			got.Windows = append(got.Windows, s.paths.Windows...)
			got.Darwin = append(got.Darwin, s.paths.Darwin...)
		}
		if !reflect.DeepEqual(got, want[r.AppID()]) {
			t.Errorf("%s paths:\n got  %q\n want %q", r.AppID(), got, want[r.AppID()])
		}
		for _, col := range [][]string{got.Linux, got.Windows, got.Darwin} {
			for _, p := range col {
				if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.Contains(p, "..") {
					t.Errorf("%s: path %q is not relative and slash separated", r.AppID(), p)
				}
			}
		}
	}
}

func TestReadCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := mattermostReader().Read(ctx, t.TempDir(), os.Getuid())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

type placed struct{ fixture, rel string }

// placeFixtures copies testdata files and directories into a fake home.
func placeFixtures(t *testing.T, home string, files, dirs []placed) {
	t.Helper()
	for _, f := range files {
		copyFile(t, filepath.Join("testdata", filepath.FromSlash(f.fixture)), filepath.Join(home, filepath.FromSlash(f.rel)))
	}
	for _, d := range dirs {
		copyDir(t, filepath.Join("testdata", filepath.FromSlash(d.fixture)), filepath.Join(home, filepath.FromSlash(d.rel)))
	}
}

// fakeHomeCase is fixtures placed in a home and what Read must return.
type fakeHomeCase struct {
	app   string
	files []placed // fixture file -> path in home (slash separated)
	dirs  []placed // fixture directory -> directory in home
	want  Connection
}

// runFakeHome lays each case's fixtures out in a temporary home and reads
// them back through the app's reader.
func runFakeHome(t *testing.T, cases []fakeHomeCase) {
	t.Helper()
	readers := map[string]Reader{}
	for _, r := range Readers() {
		readers[r.AppID()] = r
	}
	for _, tt := range cases {
		home := t.TempDir()
		placeFixtures(t, home, tt.files, tt.dirs)
		got, err := readers[tt.app].Read(context.Background(), home, os.Getuid())
		if err != nil {
			t.Errorf("%s: Read: %v", tt.app, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", tt.app, got, tt.want)
		}
	}
}

// TestZoomPlistSizeBound reads through the ZoomChat.plist source itself
// (its path table is macOS only): a recorded file is read, one over the
// property-list bound is refused.
func TestZoomPlistSizeBound(t *testing.T) {
	t.Parallel()
	var src *fileSource
	for i, s := range zoomReader().(appReader).sources {
		if s.kind == zoomPlistKind {
			src = &zoomReader().(appReader).sources[i]
		}
	}
	if src == nil {
		t.Fatal("zoom reader has no ZoomChat.plist source")
	}
	dir := t.TempDir()
	ok := filepath.Join(dir, "ZoomChat.plist")
	copyFile(t, filepath.Join("testdata", "zoom", "ZoomChat.plist"), ok)
	c, err := src.read(ok, os.Getuid())
	if err != nil || !slices.Equal(c.Servers, []string{"us05web.zoom.us", "zoom.us"}) {
		t.Errorf("recorded file: %+v, %v", c, err)
	}
	big := filepath.Join(dir, "big.plist")
	pad := `<plist version="1.0"><dict><key>a</key><string>` + strings.Repeat("x", maxPlistBytes) + `</string></dict></plist>`
	if err := os.WriteFile(big, []byte(pad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.read(big, os.Getuid()); !errors.Is(err, errTooLarge) {
		t.Errorf("file over the bound: err = %v, want errTooLarge", err)
	}
}
