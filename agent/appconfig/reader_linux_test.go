package appconfig

// Reading through Read from a fake home laid out at the Linux locations; the
// Windows and macOS columns are checked as data in TestPathTables.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadFakeHome lays fixtures out in a temporary home at their Linux
// locations and reads them back through Read.
func TestReadFakeHome(t *testing.T) {
	t.Parallel()
	runFakeHome(t, []fakeHomeCase{
		{
			app:  "jitsi-meet",
			dirs: []placed{{"jitsi-meet/leveldb-public", ".config/Jitsi Meet/Local Storage/leveldb"}},
			// The end-to-end check: a Jitsi Meet whose server is the public
			// meet.jit.si yields exactly that.
			want: Connection{AppID: "jitsi-meet", Servers: []string{"meet.jit.si"}, Source: jitsiKind},
		},
		{
			app: "jitsi-meet",
			dirs: []placed{
				{"jitsi-meet/leveldb-table", ".config/Jitsi Meet/Local Storage/leveldb"},
				{"jitsi-meet/leveldb-public", ".var/app/org.jitsi.jitsi-meet/config/Jitsi Meet/Local Storage/leveldb"},
			},
			want: Connection{AppID: "jitsi-meet", Servers: []string{"jitsi.example.org", "meet.jit.si", "video.example.net"}, Source: jitsiKind},
		},
		{
			app:   "element",
			files: []placed{{"element/config-homeserver.json", ".config/Element/config.json"}},
			want:  Connection{AppID: "element", Servers: []string{"jitsi.riot.im", "matrix.example.org"}, Source: elementKind},
		},
		{
			app:   "element",
			files: []placed{{"element/config-release.json", ".config/Riot/config.json"}},
			want:  Connection{AppID: "element", Servers: []string{"matrix-client.matrix.org", "matrix.org"}, Source: elementKind},
		},
		{
			app: "mattermost",
			files: []placed{
				{"mattermost/config-v4.json", ".config/Mattermost/config.json"},
				{"mattermost/config-v2.json", ".var/app/com.mattermost.Desktop/config/Mattermost/config.json"},
			},
			want: Connection{AppID: "mattermost", Servers: []string{"chat.example.net", "mattermost.example.org"}, Source: mattermostKind},
		},
		{
			app:   "microsoft-teams-classic",
			files: []placed{{"microsoft-teams-classic/desktop-config.json", ".config/Microsoft/Microsoft Teams/desktop-config.json"}},
			want: Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind,
				Accounts: []Account{{Kind: KindWork, Domain: "example.org", Tenant: "00000000-0000-4000-8000-00000000e1d0"}}},
		},
		{
			app:   "zoom",
			files: []placed{{"zoom/zoomus.conf", ".config/zoomus.conf"}},
			want: Connection{AppID: "zoom", Servers: []string{"us04web.zoom.us", "zoom.us"}, Source: zoomKind,
				Accounts: []Account{{Kind: KindUnknown, Domain: "example.com"}}},
		},
	})
}

func TestReadEmptyHome(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	for _, r := range Readers() {
		_, err := r.Read(context.Background(), home, os.Getuid())
		if !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s: err = %v, want ErrNotConfigured", r.AppID(), err)
		}
	}
}

func TestReadJitsiWithoutSavedSettings(t *testing.T) {
	t.Parallel()
	// The app ran (its local storage exists) but the state holds no
	// persist:root item: it connects to its default server.
	home := t.TempDir()
	dir := filepath.Join(home, ".config", "Jitsi Meet", "Local Storage", "leveldb")
	copyFile(t, filepath.Join("testdata", "jitsi-meet", "leveldb-table", "000004.log"), filepath.Join(dir, "000004.log"))
	got, err := jitsiReader().Read(context.Background(), home, os.Getuid())
	if err != nil || !slices.Equal(got.Servers, []string{"meet.jit.si"}) {
		t.Fatalf("got %+v, %v; want the default server", got, err)
	}
}

func TestReadMalformedNamesFileAndField(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	p := filepath.Join(home, ".config", "Mattermost", "config.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"version":4,"servers":[{"url":"https://exa mple.org"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := mattermostReader().Read(context.Background(), home, os.Getuid())
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Field != "servers[0].url" {
		t.Fatalf("err = %v, want a FormatError for servers[0].url", err)
	}
	if !strings.Contains(err.Error(), "mattermost: Mattermost config.json: field servers[0].url") {
		t.Errorf("err = %q", err)
	}
	if strings.Contains(err.Error(), "exa mple") {
		t.Errorf("err %q quotes the file's content", err)
	}
}
