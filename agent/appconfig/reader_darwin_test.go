package appconfig

// Reading through Read from a fake home laid out at the macOS locations.
// Nothing here runs macOS; this runs in the manual Mac smoke test.

import "testing"

func TestReadFakeHomeDarwin(t *testing.T) {
	t.Parallel()
	runFakeHome(t, []fakeHomeCase{
		{
			app:  "jitsi-meet",
			dirs: []placed{{"jitsi-meet/leveldb-public", "Library/Application Support/Jitsi Meet/Local Storage/leveldb"}},
			want: Connection{AppID: "jitsi-meet", Servers: []string{"meet.jit.si"}, Source: jitsiKind},
		},
		{
			app:   "mattermost",
			files: []placed{{"mattermost/config-v4.json", "Library/Containers/Mattermost.Desktop/Data/Library/Application Support/Mattermost/config.json"}},
			want:  Connection{AppID: "mattermost", Servers: []string{"mattermost.example.org"}, Source: mattermostKind},
		},
		{
			app:   "microsoft-teams-classic",
			files: []placed{{"microsoft-teams-classic/desktop-config.json", "Library/Application Support/Microsoft/Teams/desktop-config.json"}},
			want: Connection{AppID: "microsoft-teams-classic", Source: teamsClassicKind,
				Accounts: []Account{{Kind: KindWork, Domain: "example.org", Tenant: "00000000-0000-4000-8000-00000000e1d0"}}},
		},
		{
			app:   "zoom",
			files: []placed{{"zoom/ZoomChat.plist", "Library/Preferences/ZoomChat.plist"}},
			want:  Connection{AppID: "zoom", Servers: []string{"us05web.zoom.us", "zoom.us"}, Source: zoomPlistKind},
		},
	})
}
