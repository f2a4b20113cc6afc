package posture

import (
	"context"
	"strings"
	"testing"
)

// The fuzz tests check that no input makes a parser panic, hang or quote
// the file in an error, and a few properties of what they return. Their
// seeds run with every go test. To fuzz, give a count rather than a time
// (go test -fuzz FuzzINILookup -fuzztime 20000x ./agent/posture/): with a
// time, Go 1.26's fuzz coordinator can fail a loaded run with a bare
// "context deadline exceeded" and no crasher (golang/go#75804, fixed in
// Go 1.27).

// noContent fails when err quotes the marker the input carries.
func noContent(t *testing.T, err error, input string) {
	t.Helper()
	if err != nil && strings.Contains(input, "SECRET") && strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error quotes the input: %v", err)
	}
}

func FuzzINILookup(f *testing.F) {
	f.Add("[General]\nAutoUpdate=false\n", "General.AutoUpdate")
	f.Add("top=1\n; c\n# c\n[a.b]\nc = \"x\"\n", "a.b.c")
	f.Add("[broken\nSECRET\n", "x")
	f.Add("\xef\xbb\xbf\r\n=\r\n", "")
	f.Fuzz(func(t *testing.T, data, key string) {
		v, found, err := iniLookup([]byte(data), key)
		noContent(t, err, data)
		if err != nil && (found || v != "") {
			t.Errorf("error %v with a value", err)
		}
		if !found && v != "" {
			t.Errorf("value %q not found", v)
		}
	})
}

func FuzzJSONLookup(f *testing.F) {
	f.Add(`{"a": {"b": true}}`, "a.b")
	f.Add(`{"a.b": [1, {"c": null}]}`, "a.b.1.c")
	f.Add(`{"SECRET": `, "SECRET")
	f.Add(`[1, 2, 3]`, "2")
	f.Fuzz(func(t *testing.T, data, path string) {
		v, found, err := jsonLookup([]byte(data), path)
		noContent(t, err, data)
		if err != nil && (found || v != "") {
			t.Errorf("error %v with a value", err)
		}
	})
}

func FuzzDesktopEnabled(f *testing.F) {
	f.Add("[Desktop Entry]\nExec=zoom\n")
	f.Add("[Desktop Entry]\nHidden=true\n")
	f.Add("[Desktop Entry]\nX-GNOME-Autostart-enabled=false\n[Other]\nHidden=true\n")
	f.Add("SECRET\n")
	f.Fuzz(func(t *testing.T, data string) {
		enabled, err := desktopEnabled([]byte(data))
		noContent(t, err, data)
		if err != nil && enabled {
			t.Error("enabled with an error")
		}
	})
}

func FuzzParseStanzas(f *testing.F) {
	f.Add("Package: zoom\nStatus: install ok installed\nVersion: 1.0\n\nPackage: b\nDescription: x\n y\n")
	f.Add(" SECRET\n")
	f.Add("Package: a\nSECRET\n")
	f.Add("\n\n\nPackage:\n\t.\n")
	f.Fuzz(func(t *testing.T, data string) {
		n := 0
		err := parseStanzas(context.Background(), strings.NewReader(data), []string{"Package", "Version"}, func(s stanza, line int) error {
			n++
			if line < 1 || len(s) > 2 {
				t.Errorf("stanza %v at line %d", s, line)
			}
			return nil
		})
		noContent(t, err, data)
		if n > strings.Count(data, "\n")+1 {
			t.Errorf("%d stanzas from %d lines", n, strings.Count(data, "\n")+1)
		}
	})
}

// FuzzCompareVersions: the order is an order: a equals itself, and swapping
// the operands turns the sign.
func FuzzCompareVersions(f *testing.F) {
	f.Add("1.0~rc1-1", "1.0-1")
	f.Add("1:2.30-7+deb12u1", "2.30-7")
	f.Add("1.0~~a", "1.0~")
	f.Add("0:1.010", "1.10")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, errA := compareVersions(a, b)
		ba, errB := compareVersions(b, a)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("errors differ: %v, %v", errA, errB)
		}
		if errA != nil {
			return
		}
		if sign(ab) != -sign(ba) {
			t.Errorf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if aa, _ := compareVersions(a, a); aa != 0 {
			t.Errorf("compare(%q, %q) = %d", a, a, aa)
		}
	})
}

func FuzzExpandPath(f *testing.F) {
	f.Add("linux", "~/.config/x")
	f.Add("windows", `%APPDATA%\Zoom\x.ini`)
	f.Add("windows", `%PROGRAMFILES(X86)%\x`)
	f.Fuzz(func(t *testing.T, goos, p string) {
		got, _, err := expandPath(goos, p, "/home/ann", func(string) string { return `C:\ProgramData` }, "")
		if err == nil && strings.Contains(got, "..") {
			t.Errorf("expandPath(%q) = %q", p, got)
		}
	})
}

func FuzzPlistLookup(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>AutoUpdate</key><false/></dict></plist>`), "AutoUpdate")
	f.Add([]byte("bplist00\xd1\x01\x02QaQb\x08\x0b\x0d\x00\x00\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0f"), "a")
	f.Add([]byte("{ SECRET = 1; }"), "x")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		v, found, err := plistLookup(data, key)
		noContent(t, err, string(data))
		if err != nil && (found || v != "") {
			t.Errorf("error %v with a value", err)
		}
	})
}

// FuzzPreferenceSources: whatever the catalog path and account name, the
// files read are the path itself last, and managed files only directly in
// /Library/Managed Preferences or one account folder below it, never
// through "..".
func FuzzPreferenceSources(f *testing.F) {
	f.Add("/Library/Preferences/us.zoom.config.plist", "ann")
	f.Add("~/Library/Preferences/eu.example.plist", "")
	f.Add("/Library/Managed Preferences/com.tinyspeck.slackmacgap.plist", "../x")
	f.Add("/Library/Preferences/../Preferences/x.plist", "a/b")
	f.Fuzz(func(t *testing.T, p, user string) {
		got := preferenceSources(p, user)
		if len(got) == 0 || got[len(got)-1].catalog != p {
			t.Fatalf("preferenceSources(%q, %q) = %+v: the path itself is not last", p, user, got)
		}
		for _, s := range got[:len(got)-1] {
			rest, ok := strings.CutPrefix(s.catalog, managedPrefsDir+"/")
			if !s.managed || !ok || strings.Count(rest, "/") > 1 || strings.Contains(s.catalog, "..") || !strings.HasSuffix(s.catalog, ".plist") {
				t.Errorf("preferenceSources(%q, %q): source %+v", p, user, s)
			}
		}
	})
}
