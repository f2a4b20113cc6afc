package posture

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"howett.net/plist"
)

func TestINILookup(t *testing.T) {
	t.Parallel()
	const file = "\xef\xbb\xbftop=1\r\n; comment\n# another\n\n[General]\nAutoUpdate = false \nname=\"quoted\"\n[Other.Sub]\nkey=x\nAutoUpdate=true\n[general]\nlast=a=b\n"
	tests := []struct {
		key, want string
		found     bool
	}{
		{"top", "1", true},
		{"General.AutoUpdate", "false", true},
		{"general.autoupdate", "false", true},
		{"General.name", "quoted", true},
		{"Other.Sub.key", "x", true},
		{"Other.Sub.AutoUpdate", "true", true},
		{"general.last", "a=b", true},
		{"AutoUpdate", "", false},
		{"General.missing", "", false},
		{"key", "", false},
	}
	for _, tt := range tests {
		got, found, err := iniLookup([]byte(file), tt.key)
		if err != nil || got != tt.want || found != tt.found {
			t.Errorf("iniLookup(%q) = %q, %v, %v; want %q, %v", tt.key, got, found, err, tt.want, tt.found)
		}
	}
	for _, bad := range []struct{ file, want string }{
		{"[General\nx=1\n", "line 1: section header without ]"},
		{"[a]\nsecretvalue\n", "line 2: neither [section] nor key=value"},
		{"=1\n", "line 1: neither"},
	} {
		_, _, err := iniLookup([]byte(bad.file), "a.x")
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("iniLookup(%q) error = %v, want %q", bad.file, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error quotes the file: %v", err)
		}
	}
}

func TestJSONLookup(t *testing.T) {
	t.Parallel()
	const doc = `{"a": {"b": true, "n": 1.50, "s": "X", "nil": null, "arr": [10, {"k": "v"}]},
		"dotted.name": {"x": 0}, "obj": {"z": [1, 2]}, "dotted": {"name": {"x": 9}}}`
	tests := []struct {
		path, want string
		found      bool
	}{
		{"a.b", "true", true},
		{"a.n", "1.50", true},
		{"a.s", "X", true},
		{"a.nil", "", false},
		{"a.arr.0", "10", true},
		{"a.arr.1.k", "v", true},
		{"a.arr.2", "", false},
		{"dotted.name.x", "0", true}, // the longest member name wins
		{"obj", `{"z":[1,2]}`, true},
		{"a.missing", "", false},
		{"a.b.c", "", false},
	}
	for _, tt := range tests {
		got, found, err := jsonLookup([]byte(doc), tt.path)
		if err != nil || got != tt.want || found != tt.found {
			t.Errorf("jsonLookup(%q) = %q, %v, %v; want %q, %v", tt.path, got, found, err, tt.want, tt.found)
		}
	}
	for _, bad := range []string{`{"secret": `, `{"a":1} {"b":2}`, `{secret}`, ``, `[1,]`} {
		_, _, err := jsonLookup([]byte(bad), "a")
		if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("jsonLookup(%q) error = %v, want not valid JSON", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error quotes the file: %v", err)
		}
	}
}

func TestDesktopEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		want       bool
		err        string
	}{
		{"plain", "[Desktop Entry]\nType=Application\nExec=zoom\n", true, ""},
		{"comment and bom", "\xef\xbb\xbf# c\n[Desktop Entry]\nName[de]=Zoom\n", true, ""},
		{"hidden", "[Desktop Entry]\nHidden=true\n", false, ""},
		{"hidden false", "[Desktop Entry]\nHidden=false\n", true, ""},
		{"gnome disabled", "[Desktop Entry]\nX-GNOME-Autostart-enabled = false\n", false, ""},
		{"gnome enabled", "[Desktop Entry]\nX-GNOME-Autostart-enabled=true\n", true, ""},
		{"other group", "[Desktop Entry]\nExec=x\n[Desktop Action new]\nHidden=true\n", true, ""},
		{"no group", "Exec=x\n", false, "line 1: key before the [Desktop Entry] group"},
		{"no desktop entry", "[Other]\nExec=x\n", false, "no [Desktop Entry] group"},
		{"bad line", "[Desktop Entry]\nsecret\n", false, "line 2: neither"},
		{"bad header", "[Desktop Entry\n", false, "line 1: group header without ]"},
	}
	for _, tt := range tests {
		got, err := desktopEnabled([]byte(tt.file))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error = %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: desktopEnabled = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestPlistLookup(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"ZAutoUpdate": false, "Count": uint64(3), "Name": "zoom", "Ratio": 0.5,
		"When":   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"Nested": map[string]any{"Inner": true},
	}
	for _, format := range []int{plist.XMLFormat, plist.BinaryFormat} {
		data, err := plist.Marshal(v, format)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			key, want string
			found     bool
		}{
			{"ZAutoUpdate", "false", true},
			{"Count", "3", true},
			{"Name", "zoom", true},
			{"Ratio", "0.5", true},
			{"When", "2026-01-02T03:04:05Z", true},
			{"Nested.Inner", "true", true},
			{"Missing", "", false},
		} {
			got, found, err := plistLookup(data, tt.key)
			if err != nil || got != tt.want || found != tt.found {
				t.Errorf("format %d: plistLookup(%q) = %q, %v, %v; want %q, %v", format, tt.key, got, found, err, tt.want, tt.found)
			}
		}
	}
	_, _, err := plistLookup([]byte("<?xml version=\"1.0\"?><plist><dict><key>secret</key>"), "a")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("broken plist: error = %v, want one that does not quote it", err)
	}
	// A valid property list whose root is no dictionary is no preferences
	// file: a bare OpenStep word, an array.
	for _, notDict := range []string{"secret", "(a, b)", `<?xml version="1.0"?><plist><array><string>secret</string></array></plist>`} {
		_, _, err := plistLookup([]byte(notDict), "0")
		if err == nil || !strings.Contains(err.Error(), "root is not a dictionary") || strings.Contains(err.Error(), "secret") {
			t.Errorf("plistLookup(%q): error = %v, want root is not a dictionary", notDict, err)
		}
	}
}

func TestParseStanzas(t *testing.T) {
	t.Parallel()
	const file = "Package: a\nStatus: install ok installed\nDescription: one\n two\n .\nVersion: 1.0-1\n\n\n" +
		"package: b\nversion: 2:3~rc1\n\t cont\n\nPackage: c\n"
	var got []string
	err := parseStanzas(context.Background(), strings.NewReader(file), []string{"Package", "Version", "Description"}, func(s stanza, line int) error {
		got = append(got, s["Package"]+"|"+s["Version"]+"|"+s["Description"]+"|"+strconv.Itoa(line))
		return nil
	})
	want := []string{"a|1.0-1|one\ntwo\n.|1", "b|2:3~rc1\ncont||9", "c|||13"}
	if err != nil || strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("parseStanzas = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []struct{ file, want string }{
		{" leading\n", "line 1: continuation line before any field"},
		{"Package: a\nsecret\n", "line 2: neither"},
		{"Package: a\nX: " + strings.Repeat("y", maxStanzaLine+1) + "\n", "line 2: longer than"},
	} {
		err := parseStanzas(context.Background(), strings.NewReader(bad.file), []string{"Package"}, func(stanza, int) error { return nil })
		if err == nil || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("parseStanzas(%.20q) error = %v, want %q", bad.file, err, bad.want)
		}
	}
}

// TestCompareVersions: the examples of Debian Policy §5.6.12 (and dpkg's
// own test cases for the same rules).
func TestCompareVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0-1", "1.0-1", 0},
		// "~~" < "~~a" < "~" < "" < "a" (Policy's tilde example).
		{"1.0~~", "1.0~~a", -1},
		{"1.0~~a", "1.0~", -1},
		{"1.0~", "1.0", -1},
		{"1.0", "1.0a", -1},
		{"1.0~rc1-1", "1.0-1", -1},
		// Epochs win over everything else.
		{"1:1.0", "2.0", 1},
		{"2:0.1", "1:9.9", 1},
		{"0:1.0", "1.0", 0},
		// Numbers compare numerically, letters before non-letters.
		{"1.10", "1.9", 1},
		{"1.010", "1.10", 0},
		{"1.0a", "1.0+", -1},
		{"1.0+", "1.0.", -1},
		{"1.0-2", "1.0-10", -1},
		{"1.0-1", "1.0", 1}, // an absent revision is "0"-like: empty sorts first
		{"2.30-7", "2.30-7+deb12u1", -1},
		{"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
	}
	for _, tt := range tests {
		got, err := compareVersions(tt.a, tt.b)
		if err != nil || sign(got) != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, %v; want sign %d", tt.a, tt.b, got, err, tt.want)
		}
		back, _ := compareVersions(tt.b, tt.a)
		if sign(back) != -tt.want {
			t.Errorf("compareVersions(%q, %q) = %d; want sign %d", tt.b, tt.a, back, -tt.want)
		}
	}
	for _, bad := range []string{"", "a:1.0", "1.0 2", ":1"} {
		if _, err := compareVersions(bad, "1.0"); err == nil {
			t.Errorf("compareVersions(%q) = nil error", bad)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestExpandPath(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ProgramData": `C:\ProgramData`, "ProgramFiles": `C:\Program Files`, "ProgramFiles(x86)": `C:\Program Files (x86)\`}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		goos, in, home, root string
		want                 string
		inHome               bool
		err                  string
	}{
		{"linux", "~/.config/zoomus.conf", "/home/ann", "", "/home/ann/.config/zoomus.conf", true, ""},
		{"linux", "/etc/zoom/x.ini", "/home/ann", "", "/etc/zoom/x.ini", false, ""},
		{"linux", "/etc/zoom/x.ini", "/home/ann", "/tmp/r", "/tmp/r/etc/zoom/x.ini", false, ""},
		{"darwin", "~/Library/Preferences/us.zoom.xos.plist", "/Users/ann", "", "/Users/ann/Library/Preferences/us.zoom.xos.plist", true, ""},
		{"linux", "~/x", "", "", "", false, "no home"},
		{"linux", "~/../x", "/home/ann", "", "", false, "not allowed"},
		{"linux", "x", "/home/ann", "", "", false, "neither absolute"},
		{"windows", `%APPDATA%\Zoom\data\Zoom.us.ini`, `C:\Users\ann`, "", `C:\Users\ann\AppData\Roaming\Zoom\data\Zoom.us.ini`, true, ""},
		{"windows", `%USERPROFILE%\Documents\Zoom`, `C:\Users\ann`, "", `C:\Users\ann\Documents\Zoom`, true, ""},
		{"windows", `%localappdata%\Slack\x.json`, `C:\Users\ann\`, "", `C:\Users\ann\AppData\Local\Slack\x.json`, true, ""},
		{"windows", `%PROGRAMDATA%\Zoom\x`, `C:\Users\ann`, "", `C:\ProgramData\Zoom\x`, false, ""},
		{"windows", `%PROGRAMFILES%\Zoom\x`, ``, "", `C:\Program Files\Zoom\x`, false, ""},
		{"windows", `%PROGRAMFILES(X86)%\Zoom\x`, ``, "", `C:\Program Files (x86)\Zoom\x`, false, ""},
		{"windows", `C:\Zoom\x.ini`, ``, "", `C:\Zoom\x.ini`, false, ""},
		{"windows", `%APPDATA%\x`, ``, "", "", false, "no home"},
		{"windows", `%TEMP%\x`, `C:\Users\ann`, "", "", false, "neither absolute"},
	}
	for _, tt := range tests {
		got, inHome, err := expandPath(tt.goos, tt.in, tt.home, getenv, tt.root)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expandPath(%s, %q) error = %v, want %q", tt.goos, tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || inHome != tt.inHome {
			t.Errorf("expandPath(%s, %q) = %q, %v, %v; want %q, %v", tt.goos, tt.in, got, inHome, err, tt.want, tt.inHome)
		}
	}
	if _, _, err := expandPath("windows", `%PROGRAMDATA%\x`, "", func(string) string { return "" }, ""); err == nil || !strings.Contains(err.Error(), "no ProgramData") {
		t.Errorf("missing ProgramData: error = %v", err)
	}
}

func TestSplitRegistry(t *testing.T) {
	t.Parallel()
	const sid = "S-1-5-21-1-2-3-1001"
	tests := []struct {
		key, sid string
		root     registryRoot
		sub, err string
	}{
		{`HKLM\SOFTWARE\Policies\Zoom`, "", rootLocalMachine, `SOFTWARE\Policies\Zoom`, ""},
		{`HKCU\Software\Zoom`, sid, rootUsers, sid + `\Software\Zoom`, ""},
		{`HKCU\Software\Zoom`, "", 0, "", "no SID"},
		{`HKCU\Software\Zoom`, `S-1\..\x`, 0, "", "not a SID"},
		{`HKCR\x`, sid, 0, "", "not a key"},
	}
	for _, tt := range tests {
		root, sub, err := splitRegistry(tt.key, tt.sid)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("splitRegistry(%q) error = %v, want %q", tt.key, err, tt.err)
			}
			continue
		}
		if err != nil || root != tt.root || sub != tt.sub {
			t.Errorf("splitRegistry(%q) = %v, %q, %v", tt.key, root, sub, err)
		}
	}
}

func TestMatchValue(t *testing.T) {
	t.Parallel()
	if got, ok := matchValue(" FALSE ", []string{"0", "false"}); !ok || got != "false" {
		t.Errorf("matchValue = %q, %v", got, ok)
	}
	if _, ok := matchValue("no", []string{"0", "false"}); ok {
		t.Error("matchValue(no) matched")
	}
}

func TestBoundedReader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		limit   int64
		wantErr bool
	}{
		{"abcd", 4, false},
		{"abcd", 10, false},
		{"abcde", 4, true},
	} {
		b := &boundedReader{r: strings.NewReader(tt.in), left: tt.limit}
		got, err := io.ReadAll(b)
		if (err != nil) != tt.wantErr || (!tt.wantErr && string(got) != tt.in) {
			t.Errorf("read %q with bound %d = %q, %v", tt.in, tt.limit, got, err)
		}
	}
}
