package appconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The Element session fixtures are LevelDB directories written by Chromium
// 156 running a page that stores what element-web stores at sign-in and
// sign-out (testdata/README.md, element/). Chromium cannot serve the app's
// vector://vector origin to such a page, so they were recorded under this
// origin; the reader takes the origin as a parameter.
const elementRecordedOrigin = "http://127.0.0.1:8125"

func elementSessionHome(t *testing.T, fixture string) string {
	t.Helper()
	userData := t.TempDir()
	copyDir(t, filepath.Join("testdata", "element", fixture), localStorageDir(userData))
	return userData
}

func TestReadElementSessionFixtures(t *testing.T) {
	t.Parallel()
	session := func(server, domain string) Connection {
		return Connection{AppID: "element", Source: elementSessionKind, Servers: []string{server},
			Accounts: []Account{{Kind: KindUnknown, Domain: domain}}}
	}
	tests := []struct {
		fixture string
		want    Connection
		absent  bool // no session: the source counts as absent
	}{
		{fixture: "session-signed-in", want: session("matrix.example.org", "example.org")},
		{fixture: "session-matrix-org", want: session("matrix-client.matrix.org", "matrix.org")},
		// mx_user_id holds U+20AC, so Chromium stored it as UTF-16; the
		// homeserver URL has a port and a path, both dropped.
		{fixture: "session-utf16", want: session("matrix.example.org", "example.org")},
		// Signed in, then signed out: localStorage.clear() left deletion
		// records newer than every item.
		{fixture: "session-signed-out", absent: true},
	}
	for _, tt := range tests {
		got, err := readElementSession(elementSessionHome(t, tt.fixture), os.Getuid(), elementRecordedOrigin)
		if tt.absent {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: got %+v, %v; want no session (fs.ErrNotExist)", tt.fixture, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.fixture, err)
			continue
		}
		checkConnection(t, got)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", tt.fixture, got, tt.want)
		}
	}
}

// The fixtures hold what the reader must never return (a placeholder
// access token and device id, the user's localpart), and the signed-out
// one holds the items as older records: the checks below can fail.
func TestElementSessionFixturesHoldSecretsTheReaderDrops(t *testing.T) {
	t.Parallel()
	all := func(dir string) map[string][]byte {
		raw, err := readLevelDB(filepath.Join("testdata", "element", dir), os.Getuid(), elementSessionKind, func([]byte) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	raw := all("session-signed-in")
	token := raw[string(localStorageKey(elementRecordedOrigin, "mx_access_token"))]
	device := raw[string(localStorageKey(elementRecordedOrigin, "mx_device_id"))]
	if string(token) != "\x01syt_placeholder" || string(device) != "\x01PLACEHOLDR" {
		t.Fatalf("fixture lacks the placeholder token or device id: %q %q", token, device)
	}
	for _, dir := range []string{"session-signed-in", "session-utf16"} {
		got, err := readElementSession(elementSessionHome(t, dir), os.Getuid(), elementRecordedOrigin)
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%+v", got)
		for _, secret := range []string{"syt_", "PLACEHOLDR", "alice", "zo", "https", "8448", "vector.im"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s: result %s carries %q", dir, s, secret)
			}
		}
	}
	// The UTF-16 fixture really is UTF-16 (format byte 0).
	uid := all("session-utf16")[string(localStorageKey(elementRecordedOrigin, elementUserIDItem))]
	if len(uid) == 0 || uid[0] != 0 {
		t.Errorf("session-utf16: mx_user_id format byte %q, want 0 (UTF-16)", uid)
	}
	// Signed out: every item was written and then deleted.
	// (Chromium's own VERSION and META entries are not items.)
	live := 0
	for k := range all("session-signed-out") {
		if strings.HasPrefix(k, "_"+elementRecordedOrigin+"\x00") {
			live++
		}
	}
	if live != 0 {
		t.Errorf("session-signed-out: %d live items, want 0", live)
	}
	if n := len(all("session-signed-in")); n < 8 {
		t.Errorf("session-signed-in: %d entries, want the 8 items written", n)
	}
}

// The app's origin is vector://vector: its keys are "_vector://vector",
// 0x00, then the Latin-1 item key (what a real profile's dump shows; see
// element_session.go). The recorded profiles are not of that origin, so
// the production reader finds no session in them.
func TestElementSessionOrigin(t *testing.T) {
	t.Parallel()
	if got, want := localStorageKey(elementOrigin, "mx_hs_url"), []byte("_vector://vector\x00\x01mx_hs_url"); !bytes.Equal(got, want) {
		t.Errorf("key %q, want %q", got, want)
	}
	_, err := readElementSession(elementSessionHome(t, "session-signed-in"), os.Getuid(), elementOrigin)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("recorded origin read as vector://vector: %v, want no session", err)
	}
	// No local storage at all: absent, not an error.
	if _, err := readElementSession(t.TempDir(), os.Getuid(), elementOrigin); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no local storage: %v, want fs.ErrNotExist", err)
	}
}

func TestParseElementSession(t *testing.T) {
	t.Parallel()
	const hsField, idField = "local storage item mx_hs_url", "local storage item mx_user_id"
	tests := []struct {
		name      string
		items     map[string]string
		want      Connection
		absent    bool
		wantField string
	}{
		{name: "no items", items: map[string]string{}, absent: true},
		{name: "user id without homeserver", items: map[string]string{"mx_user_id": "@a:example.org"}, absent: true},
		{name: "homeserver only", items: map[string]string{"mx_hs_url": "https://hs.example.org/"},
			want: Connection{AppID: "element", Source: elementSessionKind, Servers: []string{"hs.example.org"}}},
		{name: "server name with port", items: map[string]string{"mx_hs_url": "https://hs.example.org", "mx_user_id": "@a:Example.ORG:8448"},
			want: Connection{AppID: "element", Source: elementSessionKind, Servers: []string{"hs.example.org"},
				Accounts: []Account{{Kind: KindUnknown, Domain: "example.org"}}}},
		{name: "IPv6 server name", items: map[string]string{"mx_hs_url": "https://[2001:db8::1]:8448", "mx_user_id": "@a:[2001:db8::1]:8448"},
			want: Connection{AppID: "element", Source: elementSessionKind, Servers: []string{"2001:db8::1"},
				Accounts: []Account{{Kind: KindUnknown, Domain: "2001:db8::1"}}}},
		{name: "empty homeserver", items: map[string]string{"mx_hs_url": ""}, wantField: hsField},
		{name: "bad homeserver", items: map[string]string{"mx_hs_url": "https://hs example.org"}, wantField: hsField},
		{name: "user id without @", items: map[string]string{"mx_hs_url": "https://a.example", "mx_user_id": "alice:example.org"}, wantField: idField},
		{name: "user id without server", items: map[string]string{"mx_hs_url": "https://a.example", "mx_user_id": "@alice"}, wantField: idField},
		{name: "server name with a path", items: map[string]string{"mx_hs_url": "https://a.example", "mx_user_id": "@a:example.org/x"}, wantField: idField},
		{name: "bad port", items: map[string]string{"mx_hs_url": "https://a.example", "mx_user_id": "@a:example.org:84a8"}, wantField: idField},
		{name: "unclosed bracket", items: map[string]string{"mx_hs_url": "https://a.example", "mx_user_id": "@a:[::1"}, wantField: idField},
	}
	for _, tt := range tests {
		got, err := parseElementSession(tt.items)
		switch {
		case tt.absent:
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: got %+v, %v; want no session", tt.name, got, err)
			}
		case tt.wantField != "":
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Kind != elementSessionKind || fe.Field != tt.wantField {
				t.Errorf("%s: err = %v, want a FormatError for %s", tt.name, err, tt.wantField)
			}
			if err != nil && strings.Contains(err.Error(), "alice") {
				t.Errorf("%s: error %q quotes the user id", tt.name, err)
			}
		default:
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: got %+v, %v\n want %+v", tt.name, got, err, tt.want)
			}
		}
	}
}

func FuzzParseElementSession(f *testing.F) {
	f.Add("https://matrix.example.org", "@alice:example.org", true)
	f.Add("https://matrix-client.matrix.org", "@zo\u00eb\u20ac:matrix.org:8448", true)
	f.Add("https://[::1]:8448/", "@a:[::1]", true)
	f.Add("", "", false)
	f.Fuzz(func(t *testing.T, hs, user string, hasUser bool) {
		items := map[string]string{elementHSURLItem: hs}
		if hasUser {
			items[elementUserIDItem] = user
		}
		c, err := parseElementSession(items)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		checkConnection(t, c)
		if len(c.Servers) != 1 || len(c.Accounts) > 1 {
			t.Fatalf("got %+v from one session", c)
		}
	})
}
