package appconfig

// The fake-home tests of the readers that place files at Linux paths
// (~/.config, the Flatpak's and the Snap's folders): on Windows and macOS
// the same readers look elsewhere (reader_windows_test.go,
// reader_darwin_test.go).

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadRocketChatFakeHome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rel  string
		want []string
	}{
		{".config/Rocket.Chat/config.json", []string{"chat.example.org", "meet.example.org", "open.rocket.chat"}},
		{".var/app/chat.rocket.RocketChat/config/Rocket.Chat/config.json", []string{"chat.example.org", "meet.example.org", "open.rocket.chat"}},
		{"snap/rocketchat-desktop/current/.config/Rocket.Chat/config.json", []string{"chat.example.org", "meet.example.org", "open.rocket.chat"}},
	}
	for _, tt := range tests {
		home := t.TempDir()
		copyFile(t, filepath.Join("testdata", "rocket-chat", "config-conf-10.2.0.json"), filepath.Join(home, filepath.FromSlash(tt.rel)))
		got, err := rocketChatReader().Read(context.Background(), home, os.Getuid())
		want := Connection{AppID: "rocket-chat", Source: rocketChatKind, Servers: tt.want}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, %v; want %+v", tt.rel, got, err, want)
		}
	}
	// The app ran but no server was added: configured, no server.
	home := t.TempDir()
	copyFile(t, filepath.Join("testdata", "rocket-chat", "config-3.8.7-no-server.json"), filepath.Join(home, ".config", "Rocket.Chat", "config.json"))
	got, err := rocketChatReader().Read(context.Background(), home, os.Getuid())
	if err != nil || len(got.Servers) != 0 || got.Source != rocketChatKind {
		t.Errorf("no server: got %+v, %v", got, err)
	}
}

// A user signed in to matrix.org while config.json names the
// organisation's homeserver: both servers are listed, and the session is
// named as a source.
func TestReadElementConfigAndSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   []placed
		dirs    []placed
		want    Connection
		wantErr error
	}{
		{
			name:  "default homeserver configured, signed in to matrix.org",
			files: []placed{{"element/config-homeserver.json", ".config/Element/config.json"}},
			dirs:  []placed{{"element/session-matrix-org", ".config/Element/Local Storage/leveldb"}},
			want: Connection{AppID: "element", Source: elementKind + ", " + elementSessionKind,
				Servers:  []string{"jitsi.riot.im", "matrix-client.matrix.org", "matrix.example.org"},
				Accounts: []Account{{Kind: KindUnknown, Domain: "matrix.org"}}},
		},
		{
			name:  "signed out: config.json only",
			files: []placed{{"element/config-homeserver.json", ".config/Element/config.json"}},
			dirs:  []placed{{"element/session-signed-out", ".config/Element/Local Storage/leveldb"}},
			want:  Connection{AppID: "element", Source: elementKind, Servers: []string{"jitsi.riot.im", "matrix.example.org"}},
		},
		{
			name: "session only, in the Flatpak's folder",
			dirs: []placed{{"element/session-signed-in", ".var/app/im.riot.Riot/config/Element/Local Storage/leveldb"}},
			want: Connection{AppID: "element", Source: elementSessionKind, Servers: []string{"matrix.example.org"},
				Accounts: []Account{{Kind: KindUnknown, Domain: "example.org"}}},
		},
		{
			name:    "signed out, no config.json",
			dirs:    []placed{{"element/session-signed-out", ".config/Element/Local Storage/leveldb"}},
			wantErr: ErrNotConfigured,
		},
	}
	for _, tt := range tests {
		home := t.TempDir()
		placeFixtures(t, home, tt.files, tt.dirs)
		got, err := elementReaderFor(elementRecordedOrigin).Read(context.Background(), home, os.Getuid())
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: got %+v, %v; want %v", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", tt.name, got, tt.want)
		}
	}
}
