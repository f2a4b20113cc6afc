package appconfig

// Reading through Read from a fake profile laid out at the Windows
// locations (run under Wine in the Windows lane).

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vcguard/vcguard/internal/wine"
)

func TestReadFakeHomeWindows(t *testing.T) {
	t.Parallel()
	runFakeHome(t, []fakeHomeCase{
		{
			app:  "jitsi-meet",
			dirs: []placed{{"jitsi-meet/leveldb-public", "AppData/Roaming/Jitsi Meet/Local Storage/leveldb"}},
			want: Connection{AppID: "jitsi-meet", Servers: []string{"meet.jit.si"}, Source: jitsiKind},
		},
		{
			app:   "element",
			files: []placed{{"element/config-homeserver.json", "AppData/Roaming/Element/config.json"}},
			want:  Connection{AppID: "element", Servers: []string{"jitsi.riot.im", "matrix.example.org"}, Source: elementKind},
		},
		{
			app:   "mattermost",
			files: []placed{{"mattermost/config-v3.json", "AppData/Roaming/Mattermost/config.json"}},
			want:  Connection{AppID: "mattermost", Servers: []string{"mattermost.example.com"}, Source: mattermostKind},
		},
		{
			app:   "microsoft-teams-classic",
			files: []placed{{"microsoft-teams-classic/desktop-config.json", "AppData/Roaming/Microsoft/Teams/desktop-config.json"}},
			want: Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind,
				Accounts: []Account{{Kind: KindWork, Domain: "example.org", Tenant: "00000000-0000-4000-8000-00000000e1d0"}}},
		},
	})
}

func TestReadWindowsUnsupportedAndRefusals(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if _, err := zoomReader().Read(context.Background(), home, 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("zoom: err = %v, want ErrUnsupported", err)
	}
	dir := filepath.Join(home, "AppData", "Roaming", "Mattermost", "config.json")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Windows refuses to open a directory without
	// FILE_FLAG_BACKUP_SEMANTICS (access denied); either way it is an error,
	// not an app without configuration.
	if _, err := mattermostReader().Read(context.Background(), home, 0); err == nil || errors.Is(err, ErrNotConfigured) {
		t.Errorf("directory as config.json: err = %v, want a refusal", err)
	}
	target := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(target, []byte(`{"version":4,"servers":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create a symbolic link here (needs SeCreateSymbolicLinkPrivilege or developer mode): %v", err)
	}
	_, err := readUserFile(link, 0, maxConfigBytes)
	if wine.Running() {
		// Wine keeps a Windows symbolic link as a unix one and answers
		// "file not found" to opening it with FILE_FLAG_OPEN_REPARSE_POINT:
		// the link is still not followed, which is what matters here.
		if err == nil {
			t.Errorf("symbolic link under Wine was read")
		}
		return
	}
	if !errors.Is(err, errSymlink) {
		t.Errorf("symbolic link: err = %v, want errSymlink", err)
	}
}
