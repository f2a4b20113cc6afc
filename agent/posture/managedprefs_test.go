package posture

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/vcguard/vcguard/policies"
)

func TestPreferenceSources(t *testing.T) {
	t.Parallel()
	const (
		zoom     = "/Library/Preferences/us.zoom.config.plist"
		homeZoom = "~/Library/Preferences/us.zoom.config.plist"
		slack    = "/Library/Managed Preferences/com.tinyspeck.slackmacgap.plist"
	)
	userZoom := prefSource{catalog: "/Library/Managed Preferences/ann/us.zoom.config.plist", where: "/Library/Managed Preferences/<user>/us.zoom.config.plist", managed: true}
	computerZoom := prefSource{catalog: "/Library/Managed Preferences/us.zoom.config.plist", where: "/Library/Managed Preferences/us.zoom.config.plist", managed: true}
	tests := []struct {
		path, user string
		want       []prefSource
	}{
		{zoom, "ann", []prefSource{userZoom, computerZoom, {catalog: zoom, where: zoom}}},
		{homeZoom, "ann", []prefSource{userZoom, computerZoom, {catalog: homeZoom, where: homeZoom}}},
		{zoom, "", []prefSource{computerZoom, {catalog: zoom, where: zoom}}},
		{zoom, "../root", []prefSource{computerZoom, {catalog: zoom, where: zoom}}},
		{zoom, "..", []prefSource{computerZoom, {catalog: zoom, where: zoom}}},
		{slack, "ann", []prefSource{
			{catalog: "/Library/Managed Preferences/ann/com.tinyspeck.slackmacgap.plist", where: "/Library/Managed Preferences/<user>/com.tinyspeck.slackmacgap.plist", managed: true},
			{catalog: slack, where: slack, managed: true},
		}},
		// Not a preference domain's own plist: the file alone.
		{"/Library/Preferences/ByHost/us.zoom.config.plist", "ann", []prefSource{{catalog: "/Library/Preferences/ByHost/us.zoom.config.plist", where: "/Library/Preferences/ByHost/us.zoom.config.plist"}}},
		{"/Library/Preferences/.plist", "ann", []prefSource{{catalog: "/Library/Preferences/.plist", where: "/Library/Preferences/.plist"}}},
		{"/Library/Preferences/us.zoom.config.json", "ann", []prefSource{{catalog: "/Library/Preferences/us.zoom.config.json", where: "/Library/Preferences/us.zoom.config.json"}}},
		{"~/Library/LaunchAgents/Element.plist", "ann", []prefSource{{catalog: "~/Library/LaunchAgents/Element.plist", where: "~/Library/LaunchAgents/Element.plist"}}},
		{"/Applications/Zoom.app/Contents/Info.plist", "ann", []prefSource{{catalog: "/Applications/Zoom.app/Contents/Info.plist", where: "/Applications/Zoom.app/Contents/Info.plist"}}},
	}
	for _, tt := range tests {
		if got := preferenceSources(tt.path, tt.user); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("preferenceSources(%q, %q) =\n%+v\nwant\n%+v", tt.path, tt.user, got, tt.want)
		}
	}
}

// xmlPlist is a property list with the given top-level keys.
func xmlPlist(t *testing.T, keys map[string]any) []byte {
	t.Helper()
	b, err := plist.MarshalIndent(keys, plist.XMLFormat, "\t")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResolvePlist: the precedence of the managed files over the file,
// key by key, and what an unreadable or broken file does.
func TestResolvePlist(t *testing.T) {
	t.Parallel()
	sources := preferenceSources("/Library/Preferences/us.zoom.config.plist", "ann")
	const (
		user     = "/Library/Managed Preferences/ann/us.zoom.config.plist"
		computer = "/Library/Managed Preferences/us.zoom.config.plist"
		local    = "/Library/Preferences/us.zoom.config.plist"
	)
	sso := func(v string) []byte { return xmlPlist(t, map[string]any{"ForceSSOURL": v}) }
	other := xmlPlist(t, map[string]any{"NoGoogle": true})
	denied := fmt.Errorf("open %s: %w", user, fs.ErrPermission)
	tests := []struct {
		name  string
		files map[string]any // catalog path: []byte, or an error
		value string
		found bool
		from  string // the reading's where ("" when not found)
		err   string // part of the error
	}{
		{name: "user level wins", files: map[string]any{user: sso("u"), computer: sso("c"), local: sso("l")}, value: "u", found: true, from: "/Library/Managed Preferences/<user>/us.zoom.config.plist"},
		{name: "computer level over the file", files: map[string]any{computer: sso("c"), local: sso("l")}, value: "c", found: true, from: computer},
		{name: "the file alone", files: map[string]any{local: sso("l")}, value: "l", found: true, from: local},
		{name: "key only in the file", files: map[string]any{user: other, computer: other, local: sso("l")}, value: "l", found: true, from: local},
		{name: "key only at computer level", files: map[string]any{user: other, computer: sso("c"), local: other}, value: "c", found: true, from: computer},
		{name: "set nowhere", files: map[string]any{user: other, computer: other, local: other}},
		{name: "no file at all"},
		{name: "broken file below a value", files: map[string]any{computer: sso("c"), local: []byte("SECRET not a plist")}, value: "c", found: true, from: computer},
		{name: "broken managed file", files: map[string]any{computer: []byte("SECRET not a plist"), local: sso("l")}, err: computer + ": not a valid property list (what a configuration profile forces"},
		{name: "unreadable managed file", files: map[string]any{user: denied, local: sso("l")}, err: "managed preferences: open " + user + ": permission denied"},
		{name: "broken file", files: map[string]any{local: []byte("SECRET")}, err: local + ": not a valid property list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func(s prefSource) ([]byte, string, error) {
				switch f := tt.files[s.catalog].(type) {
				case []byte:
					return f, s.catalog, nil
				case error:
					return nil, s.catalog, f
				}
				return nil, s.catalog, fmt.Errorf("open %s: %w", s.catalog, fs.ErrNotExist)
			}
			value, found, from, err := resolvePlist(sources, "ForceSSOURL", read)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "SECRET") {
					t.Fatalf("error = %v, want %q and no content", err, tt.err)
				}
				if value != "" || found {
					t.Errorf("a value with an error: %q", value)
				}
				return
			}
			if err != nil || value != tt.value || found != tt.found || from.where != tt.from {
				t.Errorf("= %q, %v, from %q, %v; want %q, %v, from %q", value, found, from.where, err, tt.value, tt.found, tt.from)
			}
		})
	}
}

// managedFromProfile lays out what a configuration profile forces for
// domain as a managed-preferences file: the settings at the root of a
// binary property list. A payload of type domain gives its own keys (its
// Payload* keys left out); a com.apple.ManagedClient.preferences payload
// its Forced mcx_preference_settings for domain. This is how the test
// lays the file out, not a file recorded on a Mac.
func managedFromProfile(t *testing.T, profile []byte, domain string) []byte {
	t.Helper()
	var doc struct {
		PayloadContent []map[string]any
	}
	if _, err := plist.Unmarshal(profile, &doc); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{}
	for _, p := range doc.PayloadContent {
		switch p["PayloadType"] {
		case domain:
			for k, v := range p {
				if !strings.HasPrefix(k, "Payload") {
					settings[k] = v
				}
			}
		case "com.apple.ManagedClient.preferences":
			content, _ := p["PayloadContent"].(map[string]any)
			d, _ := content[domain].(map[string]any)
			forced, _ := d["Forced"].([]any)
			for _, f := range forced {
				m, _ := f.(map[string]any)
				s, _ := m["mcx_preference_settings"].(map[string]any)
				for k, v := range s {
					settings[k] = v
				}
			}
		}
	}
	if len(settings) == 0 {
		t.Fatalf("the profile forces nothing for %s", domain)
	}
	b, err := plist.Marshal(settings, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadManagedPreferences reads the catalog's Zoom checks for macOS
// through the reader on this machine's files: the managed files under a
// fake system root, the home under a temporary folder.
func TestReadManagedPreferences(t *testing.T) {
	t.Parallel()
	cat, err := policies.EmbeddedCatalog()
	if err != nil {
		t.Fatal(err)
	}
	app, ok := cat.App("zoom")
	if !ok {
		t.Fatal("no zoom in the catalog")
	}
	check := func(key string) policies.PostureCheck {
		for _, c := range app.Posture {
			if c.OS == "darwin" && c.Key == key {
				return c
			}
		}
		t.Fatalf("no darwin check of %s", key)
		return policies.PostureCheck{}
	}
	updates, sso, email := check("AU2_EnableAutoUpdate"), check("ForceSSOURL"), check("DisableLoginWithEmail")
	if updates.File != "/Library/Preferences/us.zoom.config.plist" || sso.File != updates.File || email.File != updates.File {
		t.Fatalf("the Zoom checks read %s, %s, %s", updates.File, sso.File, email.File)
	}
	real1, err := os.ReadFile(filepath.Join("testdata", "managedprefs", "zoom-real1.mobileconfig"))
	if err != nil {
		t.Fatal(err)
	}
	realManaged := managedFromProfile(t, real1, "us.zoom.config")
	ssoSet := xmlPlist(t, map[string]any{"ForceSSOURL": "example", "ZAutoSSOLogin": true})
	updatesOff := xmlPlist(t, map[string]any{"AU2_EnableAutoUpdate": false})
	updatesOn := xmlPlist(t, map[string]any{"AU2_EnableAutoUpdate": true})
	emailOff := xmlPlist(t, map[string]any{"DisableLoginWithEmail": true})

	const (
		userFile     = "Library/Managed Preferences/ann/us.zoom.config.plist"
		computerFile = "Library/Managed Preferences/us.zoom.config.plist"
		localFile    = "Library/Preferences/us.zoom.config.plist"
		userWhere    = "/Library/Managed Preferences/<user>/us.zoom.config.plist"
		computerWh   = "/Library/Managed Preferences/us.zoom.config.plist"
	)
	type want struct {
		holds  bool
		where  string // "" is the catalog's
		detail string
	}
	tests := []struct {
		name  string
		files map[string][]byte // under the system root
		user  string
		check policies.PostureCheck
		want  want
		err   string
	}{
		{name: "SSO forced by a computer profile", files: map[string][]byte{computerFile: ssoSet}, user: "ann", check: sso},
		{name: "SSO forced by a user profile", files: map[string][]byte{userFile: ssoSet}, user: "ann", check: sso},
		{name: "a user profile of another account", files: map[string][]byte{"Library/Managed Preferences/bob/us.zoom.config.plist": ssoSet}, user: "ann", check: sso, want: want{holds: true, detail: "not set"}},
		{name: "user level unknown: only the computer level", files: map[string][]byte{userFile: ssoSet}, check: sso, want: want{holds: true, detail: "not set"}},
		{name: "SSO set in the local file only", files: map[string][]byte{localFile: ssoSet}, user: "ann", check: sso},
		{name: "SSO set nowhere", user: "ann", check: sso, want: want{holds: true, detail: "not set"}},
		{name: "updates off by the user profile over on by the computer's", files: map[string][]byte{userFile: updatesOff, computerFile: updatesOn, localFile: updatesOn}, user: "ann", check: updates, want: want{holds: true, where: userWhere, detail: "false"}},
		{name: "updates on by the profile over off in the file", files: map[string][]byte{computerFile: updatesOn, localFile: updatesOff}, user: "ann", check: updates},
		{name: "updates off by the computer profile", files: map[string][]byte{computerFile: updatesOff}, user: "ann", check: updates, want: want{holds: true, where: computerWh, detail: "false"}},
		{name: "updates off in the local file, the profile silent on it", files: map[string][]byte{computerFile: emailOff, localFile: updatesOff}, user: "ann", check: updates, want: want{holds: true, detail: "false"}},
		{name: "email sign-in off by the profile", files: map[string][]byte{computerFile: emailOff}, user: "ann", check: email},
		{name: "real profile: SSO not forced", files: map[string][]byte{computerFile: realManaged}, user: "ann", check: sso, want: want{holds: true, detail: "not set"}},
		{name: "real profile: email sign-in not switched off", files: map[string][]byte{userFile: realManaged}, user: "ann", check: email, want: want{holds: true, detail: "not set"}},
		{name: "real profile below, SSO set in the file", files: map[string][]byte{computerFile: realManaged, localFile: ssoSet}, user: "ann", check: sso},
		{name: "real profile: updates as the file says", files: map[string][]byte{computerFile: realManaged, localFile: updatesOff}, user: "ann", check: updates, want: want{holds: true, detail: "false"}},
		{name: "broken managed file", files: map[string][]byte{computerFile: []byte("SECRET"), localFile: ssoSet}, user: "ann", check: sso, err: computerFile + ": not a valid property list"},
		{name: "managed file over the size bound", files: map[string][]byte{userFile: make([]byte, maxFileBytes+1), localFile: ssoSet}, user: "ann", check: sso, err: "larger than the size bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			for name, data := range tt.files {
				writeFile(t, filepath.Join(root, filepath.FromSlash(name)), string(data))
			}
			r := Reader{SystemRoot: root}
			owner := Owner{Home: t.TempDir(), UID: os.Getuid(), User: tt.user}
			rd, holds, err := r.readOne("darwin", tt.check, owner)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "managed preferences: ") || strings.Contains(err.Error(), "SECRET") {
					t.Fatalf("error = %v, want managed preferences: ...%q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if holds != tt.want.holds {
				t.Fatalf("finding %v (%+v), want %v", holds, rd, tt.want.holds)
			}
			if !holds {
				return
			}
			where := tt.check.Where()
			if tt.want.where != "" {
				where = tt.want.where + " (" + tt.check.Key + ")"
			}
			if rd.Kind != tt.check.Kind || rd.Where != where || rd.Detail != tt.want.detail {
				t.Errorf("reading %+v, want where %q detail %q", rd, where, tt.want.detail)
			}
		})
	}
}

// TestReadManagedPreferencesHome: a check of ~/Library/Preferences reads
// the managed files of the account owning that home before it.
func TestReadManagedPreferencesHome(t *testing.T) {
	t.Parallel()
	root, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(root, "Library", "Managed Preferences", "ann", "eu.example.app.plist"), string(xmlPlist(t, map[string]any{"AutoUpdate": false})))
	writeFile(t, filepath.Join(home, "Library", "Preferences", "eu.example.app.plist"), string(xmlPlist(t, map[string]any{"AutoUpdate": true, "Telemetry": true})))
	c := func(key string) policies.PostureCheck {
		return policies.PostureCheck{Kind: policies.PostureUpdatesOff, OS: "darwin", File: "~/Library/Preferences/eu.example.app.plist", Format: "plist", Key: key, Values: []string{"false"}, Source: "https://example.org"}
	}
	r := Reader{SystemRoot: root}
	rd, holds, err := r.readOne("darwin", c("AutoUpdate"), Owner{Home: home, UID: os.Getuid(), User: "ann"})
	if err != nil || !holds || rd.Where != "/Library/Managed Preferences/<user>/eu.example.app.plist (AutoUpdate)" {
		t.Errorf("forced: %+v, %v, %v", rd, holds, err)
	}
	// The person's own file decides a key no profile sets.
	tel := c("Telemetry")
	tel.Values = []string{"true"}
	if rd, holds, err := r.readOne("darwin", tel, Owner{Home: home, UID: os.Getuid(), User: "ann"}); err != nil || !holds || rd.Where != tel.Where() {
		t.Errorf("own file: %+v, %v, %v", rd, holds, err)
	}
	// Without a home the managed files still answer; the home's file cannot.
	if _, holds, err := r.readOne("darwin", c("AutoUpdate"), Owner{User: "ann"}); err != nil || !holds {
		t.Errorf("no home, forced value: %v, %v", holds, err)
	}
	if _, _, err := r.readOne("darwin", tel, Owner{User: "ann"}); !errors.Is(err, errNoHome) {
		t.Errorf("no home, own file: %v", err)
	}
}
