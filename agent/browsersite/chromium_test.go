package browsersite

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wt converts Chromium's microseconds since 1601 the way the file means.
func wt(us int64) time.Time {
	return time.Date(1601, 1, 1, 0, 0, int(us/1e6), int(us%1e6)*1000, time.UTC)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParseChromiumPreferencesRecorded reads the Preferences Chromium 156
// wrote in TestChromiumRecordsGrants (see testdata/README.md).
func TestParseChromiumPreferencesRecorded(t *testing.T) {
	t.Parallel()
	grants, err := ParseChromiumPreferences(readFixture(t, "chromium/Preferences"))
	if err != nil {
		t.Fatal(err)
	}
	// The first time, checked by hand: 13441022742933956 µs after
	// 1601-01-01 is 2026-12-06 09:25:42.933956 UTC.
	if got, want := wt(13441022742933956), time.Date(2026, 12, 6, 9, 25, 42, 933956000, time.UTC); !got.Equal(want) {
		t.Fatalf("wt = %v, want %v", got, want)
	}
	cam := func(origin string, allowed bool, mod, used int64) Grant {
		g, _ := parseOrigin(origin, true)
		g.Camera, g.Allowed, g.Modified = true, allowed, wt(mod)
		if used != 0 {
			g.LastUsed = wt(used)
		}
		return g
	}
	mic := func(origin string, allowed bool, mod int64) Grant {
		g := cam(origin, allowed, mod, 0)
		g.Camera, g.Microphone = false, true
		return g
	}
	want := []Grant{
		cam("http://127.0.0.1:46101", true, 13441022742933956, 13441022747259616),
		mic("http://127.0.0.1:46101", false, 13441022742934117),
		cam("https://meet.google.com", true, 13441022746923572, 0),
		mic("https://meet.google.com", true, 13441022746923732),
		cam("https://meet.jit.si", true, 13441022746923788, 0),
		cam("https://notmeet.zoom.us.example.net", false, 13441022746923843, 0),
		mic("https://www.example.org", true, 13441022746923821),
	}
	if !reflect.DeepEqual(grants, want) {
		t.Errorf("grants:\n got %+v\nwant %+v", grants, want)
	}
}

func TestParseChromiumPreferences(t *testing.T) {
	t.Parallel()
	doc := func(camera string) string {
		return `{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{` + camera + `}}}}}`
	}
	tests := []struct {
		name    string
		in      string
		want    []string // Origin, "!" prefix when not allowed
		wantErr string
	}{
		{"empty object", `{}`, nil, ""},
		{"no exceptions", `{"profile":{"name":"x"}}`, nil, ""},
		{"allowed", doc(`"https://meet.google.com:443,*":{"setting":1}`), []string{"https://meet.google.com"}, ""},
		{"blocked and ask", doc(`"https://a.example:443,*":{"setting":2},"https://b.example:443,*":{"setting":3}`), []string{"!https://a.example", "!https://b.example"}, ""},
		{"domain pattern", doc(`"[*.]zoom.us,*":{"setting":1}`), []string{"[*.]zoom.us"}, ""},
		{"secondary pattern ignored", doc(`"https://meet.jit.si:443,https://embedder.example:443":{"setting":1}`), []string{"https://meet.jit.si"}, ""},
		{"wildcard left out", doc(`"*,*":{"setting":1}`), nil, ""},
		{"setting not a number left out", doc(`"https://a.example:443,*":{"setting":{"x":1}}`), nil, ""},
		{"setting missing left out", doc(`"https://a.example:443,*":{}`), nil, ""},
		{"time as number", doc(`"https://a.example:443,*":{"setting":1,"last_modified":13441022742933956}`), []string{"https://a.example"}, ""},
		{"bad time", doc(`"https://a.example:443,*":{"setting":1,"last_modified":"soon"}`), nil,
			`profile.content_settings.exceptions.media_stream_camera: an entry's last_modified: not a time in microseconds`},
		{"negative time", doc(`"https://a.example:443,*":{"setting":1,"last_used":"-5"}`), nil, "last_used"},
		{"bad expiration", doc(`"https://a.example:443,*":{"setting":1,"expiration":true}`), nil, "expiration"},
		{"exceptions of the wrong type", `{"profile":{"content_settings":{"exceptions":{"media_stream_mic":[]}}}}`, nil, "field profile.content_settings.exceptions.media_stream_mic"},
		{"not JSON", `{"profile":`, nil, "invalid JSON at byte 11"},
		{"not an object", `[1]`, nil, "field … at byte 1: a JSON array where another type belongs"},
	}
	for _, tt := range tests {
		grants, err := ParseChromiumPreferences([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got []string
		for _, g := range grants {
			if !g.Camera || g.Microphone {
				t.Errorf("%s: %+v is not a camera grant", tt.name, g)
			}
			if g.Allowed {
				got = append(got, g.Origin)
			} else {
				got = append(got, "!"+g.Origin)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: grants %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseChromiumPreferencesTimes(t *testing.T) {
	t.Parallel()
	grants, err := ParseChromiumPreferences([]byte(`{"profile":{"content_settings":{"exceptions":{"media_stream_mic":{
		"https://a.example:443,*":{"setting":1,"last_modified":"13441022742933956","last_used":"0","expiration":"13441022742933957"}}}}}}`))
	if err != nil || len(grants) != 1 {
		t.Fatalf("%+v, %v", grants, err)
	}
	g := grants[0]
	if !g.Microphone || !g.Modified.Equal(wt(13441022742933956)) || !g.LastUsed.IsZero() || !g.Expires.Equal(wt(13441022742933957)) {
		t.Errorf("got %+v", g)
	}
	if g.Active(wt(13441022742933957)) || !g.Active(wt(13441022742933956)) || !g.Active(wt(13441022742933956).Add(999*time.Nanosecond)) {
		t.Errorf("expiration not honoured: %+v", g)
	}
}

func TestParseChromiumPreferencesNeverQuotes(t *testing.T) {
	t.Parallel()
	// The file holds browsing data: errors say where, not what.
	secret := "https://secret-site.example/private-path"
	for _, in := range []string{
		`{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{"x":{"setting":1,"last_modified":"` + secret + `"}}}}}}`,
		`{"profile":{"content_settings":{"exceptions":{"media_stream_camera":"` + secret + `"}}}}`,
		`{"history":"` + secret + `" garbage`,
		`{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{"` + secret + `:443,*":"x"}}}}}`,
		`{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{"https://secret-site.example:443,*":{"setting":1,"last_used":{"a":1}}}}}}}`,
		`{"profile":{"info_cache":{"` + secret + `":[]}}} `,
		`{"profile":{"info_cache":{"` + secret + `":1}}}`,
	} {
		_, err := ParseChromiumPreferences([]byte(in))
		_, lerr := ParseLocalState([]byte(in))
		if err == nil && lerr == nil {
			t.Fatalf("%s: no error", in)
		}
		for _, e := range []error{err, lerr} {
			if e != nil && strings.Contains(e.Error(), "secret") {
				t.Errorf("error quotes the file: %v", e)
			}
		}
	}
}

func TestParseLocalState(t *testing.T) {
	t.Parallel()
	names, err := ParseLocalState(readFixture(t, "chromium/Local State"))
	if err != nil || !reflect.DeepEqual(names, []string{"Default"}) {
		t.Errorf("recorded Local State: %q, %v; want [Default]", names, err)
	}
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{`{}`, []string{}, ""},
		{`{"profile":{"info_cache":{"Profile 2":{},"Default":{"name":"Person 1"},"Profile 1":null}}}`, []string{"Default", "Profile 1", "Profile 2"}, ""},
		{`{"profile":{"info_cache":{"../../etc":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":{"a/b":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":{"a\\b":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":{"..":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":{"":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":{"C:":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":{"x. ":{}}}}`, []string{"x. "}, ""},
		{`{"profile":{"info_cache":{" . ":{}}}}`, nil, "is not a directory name"},
		{`{"profile":{"info_cache":[]}}`, nil, "field profile.info_cache at byte 26: a JSON array"},
		{`nope`, nil, "invalid JSON at byte 2"},
	}
	for _, tt := range tests {
		got, err := ParseLocalState([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseChromiumPreferences(f *testing.F) {
	f.Add(readFixture(f, "chromium/Preferences"))
	f.Add([]byte(`{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{"[*.]zoom.us,*":{"setting":1,"last_modified":"1","expiration":"2"}},"media_stream_mic":{"http://[::1]:80,*":{"setting":1}}}}}}`))
	f.Add([]byte(`{"profile":{"content_settings":{"exceptions":{"media_stream_camera":{"https://bücher.example:443,*":{"setting":1}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		grants, err := ParseChromiumPreferences(data)
		if err != nil {
			return
		}
		for _, g := range grants {
			if g.Origin == "" || g.Host == "" || g.Camera == g.Microphone || g.Profile != "" {
				t.Fatalf("malformed grant %+v", g)
			}
			// A grant's origin parses back to itself.
			again, ok := parseOrigin(g.Origin, true)
			if !ok || again.Origin != g.Origin || again.Host != g.Host {
				t.Fatalf("origin %q does not parse back: %+v %v", g.Origin, again, ok)
			}
		}
	})
}

func FuzzParseLocalState(f *testing.F) {
	f.Add(readFixture(f, "chromium/Local State"))
	f.Add([]byte(`{"profile":{"info_cache":{"Profile 1":{},"../x":{}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		names, err := ParseLocalState(data)
		if err != nil {
			return
		}
		for _, n := range names {
			if !isDirName(n) || filepath.Base(n) != n {
				t.Fatalf("unsafe profile name %q", n)
			}
		}
	})
}
