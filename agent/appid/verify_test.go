package appid

import (
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	zoomMac := Candidate{
		Paths:     []string{"/Applications/zoom.us.app/"},
		BundleIDs: []string{"us.zoom.xos", "us.zoom.CptHost"},
		TeamIDs:   []string{"BJ4HAAB9B3"},
	}
	teamOnly := Candidate{TeamIDs: []string{"UBF8T346G9"}}
	zoomWin := Candidate{Publishers: []string{"Zoom Video Communications, Inc."}}
	zoomLinux := Candidate{
		Paths:    []string{"/opt/zoom/"},
		Packages: map[string][]string{"deb": {"zoom"}, "rpm": {"zoom"}, "flatpak": {"us.zoom.Zoom"}, "snap": {"zoom-client"}},
	}
	pathsOnly := Candidate{Paths: []string{"/opt/zoom"}}
	faceTime := Candidate{Paths: []string{"/System/Applications/FaceTime.app/"}, BundleIDs: []string{"com.apple.FaceTime"}}

	tests := []struct {
		name       string
		goos       string
		c          Candidate
		info       Info
		ok         bool
		wantReason string
	}{
		// darwin
		{"darwin genuine", "darwin", zoomMac, Info{Signed: true, TeamID: "BJ4HAAB9B3", BundleID: "us.zoom.xos"}, true, ""},
		{"darwin helper bundle", "darwin", zoomMac, Info{Signed: true, TeamID: "BJ4HAAB9B3", BundleID: "us.zoom.CptHost"}, true, ""},
		{"darwin no bundle ids in catalog", "darwin", teamOnly, Info{Signed: true, TeamID: "UBF8T346G9"}, true, ""},
		{"darwin other team", "darwin", zoomMac, Info{Signed: true, TeamID: "XXXXXXXXXX", BundleID: "us.zoom.xos"}, false, "signed by team XXXXXXXXXX, expected BJ4HAAB9B3"},
		{"darwin not signed", "darwin", zoomMac, Info{TeamID: "BJ4HAAB9B3", BundleID: "us.zoom.xos", Reason: "codesign: invalid signature"}, false, "not valid (codesign: invalid signature)"},
		{"darwin ad hoc", "darwin", zoomMac, Info{Signed: true, BundleID: "us.zoom.xos"}, false, "no team id"},
		{"darwin wrong bundle", "darwin", zoomMac, Info{Signed: true, TeamID: "BJ4HAAB9B3", BundleID: "us.zoom.other"}, false, "bundle identifier us.zoom.other is not the app's"},
		{"darwin no bundle", "darwin", zoomMac, Info{Signed: true, TeamID: "BJ4HAAB9B3"}, false, "no bundle identifier"},
		{"darwin catalog has bundle ids but no team", "darwin", Candidate{BundleIDs: []string{"a"}}, Info{Signed: true, TeamID: "T", BundleID: "a"}, false, "no signing team id"},
		{"darwin Apple platform app", "darwin", faceTime, Info{Path: "/System/Applications/FaceTime.app/Contents/MacOS/FaceTime", Signed: true, BundleID: "com.apple.FaceTime"}, true, ""},
		{"darwin Apple bundle id outside the system volume", "darwin", faceTime, Info{Path: "/Users/x/FaceTime.app/Contents/MacOS/FaceTime", Signed: true, BundleID: "com.apple.FaceTime"}, false, "no signing team id"},
		{"darwin Apple platform app not signed", "darwin", faceTime, Info{Path: "/System/Applications/FaceTime.app/Contents/MacOS/FaceTime", BundleID: "com.apple.FaceTime"}, false, "no signing team id"},
		{"darwin no identity", "darwin", zoomWin, Info{Signed: true, TeamID: "BJ4HAAB9B3"}, false, noIdentity},
		// windows
		{"windows genuine", "windows", zoomWin, Info{Signed: true, Publisher: "Zoom Video Communications, Inc."}, true, ""},
		{"windows case-insensitive", "windows", zoomWin, Info{Signed: true, Publisher: "ZOOM VIDEO COMMUNICATIONS, INC."}, true, ""},
		{"windows other publisher", "windows", zoomWin, Info{Signed: true, Publisher: "Zoom Video Communications"}, false, "signed by Zoom Video Communications, expected"},
		{"windows not verified", "windows", zoomWin, Info{Publisher: "Zoom Video Communications, Inc."}, false, "Authenticode signature is not valid"},
		{"windows no publisher", "windows", zoomWin, Info{Signed: true}, false, "no organisation"},
		{"windows no identity", "windows", zoomMac, Info{Signed: true, Publisher: "x"}, false, noIdentity},
		// linux
		{"linux deb", "linux", zoomLinux, Info{Path: "/usr/bin/zoom", Package: "deb:zoom"}, true, ""},
		{"linux rpm", "linux", zoomLinux, Info{Path: "/opt/zoom/zoom", Package: "rpm:zoom"}, true, ""},
		{"linux flatpak", "linux", zoomLinux, Info{Path: "/app/extra/zoom/zoom", Package: "flatpak:us.zoom.Zoom"}, true, ""},
		{"linux snap", "linux", zoomLinux, Info{Path: "/snap/zoom-client/225/zoom/zoom", Package: "snap:zoom-client"}, true, ""},
		{"linux package of another system", "linux", zoomLinux, Info{Path: "/usr/bin/zoom", Package: "snap:zoom"}, false, "owned by snap:zoom, which is not one of the app's packages"},
		{"linux path, protected", "linux", zoomLinux, Info{Path: "/opt/zoom/ZoomLauncher", Signed: true}, true, ""},
		{"linux path without trailing slash in catalog", "linux", pathsOnly, Info{Path: "/opt/zoom/zoom", Signed: true}, true, ""},
		{"linux path, not protected", "linux", zoomLinux, Info{Path: "/opt/zoom/zoom", Reason: "/opt/zoom is writable by group or others"}, false, "/opt/zoom/zoom is under /opt/zoom/ but not protected"},
		{"linux sibling directory is not under", "linux", zoomLinux, Info{Path: "/opt/zoomer/zoom", Signed: true}, false, "not owned by one of the app's packages and not under its install paths"},
		{"linux dot-dot does not escape", "linux", zoomLinux, Info{Path: "/opt/zoom/../evil/zoom", Signed: true}, false, "not under its install paths"},
		{"linux relative path", "linux", zoomLinux, Info{Path: "opt/zoom/zoom", Signed: true}, false, "not under"},
		{"linux protected elsewhere", "linux", zoomLinux, Info{Path: "/usr/local/bin/zoom", Signed: true}, false, "not under its install paths"},
		{"linux no identity", "linux", zoomWin, Info{Path: "/opt/zoom/zoom", Signed: true}, false, noIdentity},
		{"linux empty package lists", "linux", Candidate{Packages: map[string][]string{"deb": nil}}, Info{Package: "deb:zoom"}, false, noIdentity},
		// elsewhere
		{"unknown OS", "plan9", zoomLinux, Info{Package: "deb:zoom"}, false, "no identity rules for GOOS plan9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := Verify(tt.goos, tt.c, tt.info)
			if ok != tt.ok {
				t.Errorf("ok = %v (%s); want %v", ok, reason, tt.ok)
			}
			if ok && reason != "" {
				t.Errorf("verified with reason %q", reason)
			}
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason = %q; want it to contain %q", reason, tt.wantReason)
			}
		})
	}
}

func TestPathUnder(t *testing.T) {
	for _, tt := range []struct {
		p, dir string
		want   bool
	}{
		{"/opt/zoom/zoom", "/opt/zoom/", true},
		{"/opt/zoom/zoom", "/opt/zoom", true},
		{"/opt/zoom", "/opt/zoom/", true},
		{"/opt/zoom/a/b/c", "/opt/zoom", true},
		{"/opt/zoomer", "/opt/zoom", false},
		{"/opt/zoom/../x", "/opt/zoom", false},
		{"/anything", "/", true},
		{"relative", "/opt", false},
		{"/opt/zoom/zoom", `%ProgramFiles%\Zoom\bin\`, false},
	} {
		if got := pathUnder(tt.p, tt.dir); got != tt.want {
			t.Errorf("pathUnder(%q, %q) = %v", tt.p, tt.dir, got)
		}
	}
}

func TestStorePackageFamily(t *testing.T) {
	for _, tc := range []struct {
		path, family string
	}{
		{`C:\Program Files\WindowsApps\MSTeams_25122.1415.3698.6812_x64__8wekyb3d8bbwe\ms-teams.exe`, "MSTeams_8wekyb3d8bbwe"},
		{`c:\program files\windowsapps\5319275A.WhatsAppDesktop_2.2450.6.0_x64__cv1g1gvanyjgm\WhatsApp.exe`, "5319275A.WhatsAppDesktop_cv1g1gvanyjgm"},
		{`C:/Program Files/WindowsApps/Name.App_1.0.0.0_neutral_split.scale-100_abcdefghijklm/sub/app.exe`, "Name.App_abcdefghijklm"},
		// Not under WindowsApps, or not a package folder.
		{`C:\Users\eve\WindowsApps\MSTeams_25122.1415.3698.6812_x64__8wekyb3d8bbwe\ms-teams.exe`, ""},
		{`C:\Program Files\WindowsApps\MSTeams_25122.1415.3698.6812_x64__8wekyb3d8bbwe`, ""},
		{`C:\Program Files\WindowsApps\MSTeams_x64__8wekyb3d8bbwe\ms-teams.exe`, ""},
		{`C:\Program Files\WindowsApps\MSTeams_1.2.3_x64__8wekyb3d8bbwe\ms-teams.exe`, ""},
		{`C:\Program Files\WindowsApps\MSTeams_1.2.3.4_sparc__8wekyb3d8bbwe\ms-teams.exe`, ""},
		{`C:\Program Files\WindowsApps\MSTeams_1.2.3.4_x64__8WEKYB3D8BBWE\ms-teams.exe`, ""},
		{`C:\Program Files\WindowsApps\M_1.2.3.4_x64__8wekyb3d8bbwe\ms-teams.exe`, ""},
		{`C:\Program Files\WindowsApps\`, ""},
		{"", ""},
	} {
		got, ok := StorePackageFamily(tc.path)
		if got != tc.family || ok != (tc.family != "") {
			t.Errorf("StorePackageFamily(%q) = %q, %v; want %q", tc.path, got, ok, tc.family)
		}
	}
}

// A Store app is genuine by the package folder it runs from, signed or
// not; a Store package of another family, or the same folder name outside
// WindowsApps, is not.
func TestVerifyWindowsStorePackage(t *testing.T) {
	teams := Candidate{Publishers: []string{"Microsoft Corporation"}, PackageFamilies: []string{"MSTeams_8wekyb3d8bbwe"}}
	storeOnly := Candidate{PackageFamilies: []string{"5319275A.WhatsAppDesktop_cv1g1gvanyjgm"}}
	for _, tc := range []struct {
		name string
		c    Candidate
		info Info
		ok   bool
	}{
		{"store package, unsigned exe", teams, Info{Path: `C:\Program Files\WindowsApps\MSTeams_25122.1415.3698.6812_x64__8wekyb3d8bbwe\ms-teams.exe`}, true},
		{"store-only app", storeOnly, Info{Path: `C:\Program Files\WindowsApps\5319275A.WhatsAppDesktop_2.2450.6.0_x64__cv1g1gvanyjgm\WhatsApp.exe`}, true},
		{"other family, signed by the publisher", teams, Info{Path: `C:\Program Files\WindowsApps\Fake.Teams_1.0.0.0_x64__abcdefghijklm\ms-teams.exe`, Signed: true, Publisher: "Microsoft Corporation"}, true},
		{"other family, unsigned", teams, Info{Path: `C:\Program Files\WindowsApps\Fake.Teams_1.0.0.0_x64__abcdefghijklm\ms-teams.exe`}, false},
		{"store-only app elsewhere", storeOnly, Info{Path: `C:\Users\eve\Downloads\5319275A.WhatsAppDesktop_2.2450.6.0_x64__cv1g1gvanyjgm\WhatsApp.exe`, Signed: true, Publisher: "WhatsApp LLC"}, false},
		{"store-only app, other family", storeOnly, Info{Path: `C:\Program Files\WindowsApps\Fake.App_1.0.0.0_x64__abcdefghijklm\WhatsApp.exe`}, false},
	} {
		ok, reason := Verify("windows", tc.c, tc.info)
		if ok != tc.ok {
			t.Errorf("%s: Verify = %v (%s), want %v", tc.name, ok, reason, tc.ok)
		}
		if !ok && reason == "" {
			t.Errorf("%s: refused without a reason", tc.name)
		}
	}
}

func FuzzStorePackageFamily(f *testing.F) {
	f.Add(`C:\Program Files\WindowsApps\MSTeams_25122.1415.3698.6812_x64__8wekyb3d8bbwe\ms-teams.exe`)
	f.Add(`C:\Program Files\WindowsApps\a_b_c_d_e\f`)
	f.Fuzz(func(t *testing.T, p string) {
		fam, ok := StorePackageFamily(p)
		if !ok {
			return
		}
		name, pub, found := strings.Cut(fam, "_")
		if !found || len(pub) != 13 || len(name) < 3 || strings.Contains(pub, "_") {
			t.Fatalf("StorePackageFamily(%q) = %q, not Name_PublisherId", p, fam)
		}
	})
}
