package appid

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"howett.net/plist"
)

const (
	plistXML    = "plist/zoom.us.Info.plist"
	plistBinary = "plist/zoom.us.Info.binary.plist"
)

// TestBinaryPlistFixture keeps the binary Info.plist the same document as
// the XML one; -update regenerates it with howett.net/plist's encoder.
func TestBinaryPlistFixture(t *testing.T) {
	if *update {
		var doc map[string]any
		if _, err := plist.Unmarshal(readTestdata(t, plistXML), &doc); err != nil {
			t.Fatal(err)
		}
		bin, err := plist.Marshal(doc, plist.BinaryFormat)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", plistBinary), bin, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := readTestdata(t, plistBinary)
	if !bytes.HasPrefix(bin, []byte("bplist00")) {
		t.Fatalf("%s is not a binary plist", plistBinary)
	}
	var fromXML, fromBin map[string]any
	if _, err := plist.Unmarshal(readTestdata(t, plistXML), &fromXML); err != nil {
		t.Fatal(err)
	}
	if _, err := plist.Unmarshal(bin, &fromBin); err != nil {
		t.Fatal(err)
	}
	if len(fromXML) != len(fromBin) || fromXML["CFBundleIdentifier"] != fromBin["CFBundleIdentifier"] {
		t.Errorf("binary plist differs from the XML one; run go test -update")
	}
}

func TestParseInfoPlist(t *testing.T) {
	zoom := BundleInfo{Identifier: "us.zoom.xos", Version: "6.2.11 (43613)", Executable: "zoom.us", Name: "zoom.us"}
	tests := []struct {
		name    string
		data    []byte
		want    BundleInfo
		wantErr string
	}{
		{name: "XML", data: readTestdata(t, plistXML), want: zoom},
		{name: "binary", data: readTestdata(t, plistBinary), want: zoom},
		{
			name: "CFBundleVersion when no short version",
			data: readTestdata(t, "plist/version-only.Info.plist"),
			want: BundleInfo{Identifier: "us.zoom.CptHost", Version: "6.2.11.43613", Executable: "CptHost", Name: "CptHost"},
		},
		{
			name: "OpenStep text, integer version",
			data: []byte(`{ CFBundleIdentifier = "org.example.tool"; CFBundleVersion = 42; }`),
			want: BundleInfo{Identifier: "org.example.tool", Version: "42"},
		},
		{
			name: "non-string value ignored",
			data: []byte(`<plist><dict><key>CFBundleIdentifier</key><string>a.b</string><key>CFBundleName</key><array/></dict></plist>`),
			want: BundleInfo{Identifier: "a.b"},
		},
		{name: "empty", data: nil, wantErr: "empty"},
		{name: "garbage", data: []byte("\x00\x01\x02 not a plist"), wantErr: "Info.plist"},
		{name: "truncated binary", data: readTestdata(t, plistBinary)[:60], wantErr: "Info.plist"},
		{name: "array root", data: []byte(`<plist><array><string>x</string></array></plist>`), wantErr: "Info.plist"},
		{name: "no bundle keys", data: []byte(`<plist><dict><key>Foo</key><string>x</string></dict></plist>`), wantErr: "not a dictionary with CFBundle keys"},
		{name: "too large", data: bytes.Repeat([]byte(" "), MaxInfoPlistSize+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfoPlist(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadInfoPlist(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.plist")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), MaxInfoPlistSize+10), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadInfoPlist(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized Info.plist: err = %v", err)
	}
	bi, err := ReadInfoPlist(filepath.Join("testdata", plistBinary))
	if err != nil || bi.Identifier != "us.zoom.xos" {
		t.Errorf("ReadInfoPlist = %+v, %v", bi, err)
	}
}

func TestBundleRoot(t *testing.T) {
	tests := []struct {
		exe, want string
		ok        bool
	}{
		{"/Applications/zoom.us.app/Contents/MacOS/zoom.us", "/Applications/zoom.us.app", true},
		{"/Applications/zoom.us.app/Contents/Frameworks/CptHost.app/Contents/MacOS/CptHost", "/Applications/zoom.us.app/Contents/Frameworks/CptHost.app", true},
		{"/Applications/Microsoft Teams.app/Contents/MacOS/MSTeams", "/Applications/Microsoft Teams.app", true},
		{"/Applications/Slack.app/Contents/MacOS/sub/helper", "/Applications/Slack.app", true},
		{"/Users/me/Evil.app/Contents/MacOS/../../../../../Applications/zoom.us.app/Contents/MacOS/zoom.us", "/Applications/zoom.us.app", true},
		{"/Applications/zoom.us.app/Contents/Frameworks/ZoomAudioDevice.driver/Contents/MacOS/x", "/Applications/zoom.us.app", false},
		{"/usr/bin/zoom", "", false},
		{"/Applications/zoom.us.app/Contents/MacOS/", "", false},
		{"/Applications/zoom.us.app/Contents/Resources/zoom", "", false},
		{"/.app/Contents/MacOS/x", "", false},
		{"Foo.app/Contents/MacOS/foo", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := BundleRoot(tt.exe)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("BundleRoot(%q) = %q, %v; want %q, %v", tt.exe, got, ok, tt.want, tt.ok)
		}
	}
}
