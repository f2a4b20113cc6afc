package posture

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
)

// homeCheckPath is a catalog path under the owner's home for the running
// OS, and where it lands under home.
func homeCheckPath(home, rel string) (catalog, onDisk string) {
	if runtime.GOOS == "windows" {
		return `%APPDATA%\` + strings.ReplaceAll(rel, "/", `\`), filepath.Join(home, "AppData", "Roaming", filepath.FromSlash(rel))
	}
	return "~/" + rel, filepath.Join(home, filepath.FromSlash(rel))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testOwner(home string) Owner {
	return Owner{Home: home, UID: os.Getuid()}
}

// TestReadFiles reads real files under a temporary home through Read,
// for each format and the cases of a catalog check.
func TestReadFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	iniCat, iniDisk := homeCheckPath(home, "zoom/zoomus.conf")
	writeFile(t, iniDisk, "[General]\nenableAutoUpdate=false\ntelemetry=1\n")
	jsonCat, jsonDisk := homeCheckPath(home, "app/settings.json")
	writeFile(t, jsonDisk, `{"update": {"auto": false}, "sso": {"enforced": true}}`)
	desktopCat, desktopDisk := homeCheckPath(home, "autostart/zoom.desktop")
	writeFile(t, desktopDisk, "[Desktop Entry]\nExec=zoom\n")
	offCat, offDisk := homeCheckPath(home, "autostart/off.desktop")
	writeFile(t, offDisk, "[Desktop Entry]\nExec=zoom\nHidden=true\n")
	badCat, badDisk := homeCheckPath(home, "app/broken.json")
	writeFile(t, badDisk, `{"secret-token": `)
	missingCat, _ := homeCheckPath(home, "none/settings.ini")

	const src = "https://example.org/doc"
	c := func(kind policies.PostureKind, file, format, key string, values []string, absent bool) policies.PostureCheck {
		return policies.PostureCheck{Kind: kind, OS: runtime.GOOS, File: file, Format: format, Key: key, Values: values, Absent: absent, Source: src}
	}
	checks := []policies.PostureCheck{
		c(policies.PostureUpdatesOff, iniCat, "ini", "General.enableAutoUpdate", []string{"FALSE", "0"}, false), // holds
		c(policies.PostureTelemetryOn, iniCat, "ini", "General.telemetry", []string{"0"}, false),                // clear: value 1
		c(policies.PostureSSONotEnforced, iniCat, "ini", "General.sso", nil, true),                              // holds: absent
		c(policies.PostureUpdatesOff, jsonCat, "json", "update.auto", []string{"false"}, false),                 // holds
		c(policies.PostureSSONotEnforced, jsonCat, "json", "sso.enforced", []string{"false"}, true),             // clear: true
		c(policies.PostureAutostart, desktopCat, "desktop", "", nil, false),                                     // holds
		c(policies.PostureAutostart, offCat, "desktop", "", nil, false),                                         // clear: Hidden
		c(policies.PostureKeepsRunning, jsonCat, "exists", "", nil, false),                                      // holds
		c(policies.PostureKeepsRunning, missingCat, "exists", "", nil, false),                                   // clear
		c(policies.PostureUpdatesOff, missingCat, "ini", "a.b", []string{"0"}, false),                           // clear: no file
		c(policies.PostureSSONotEnforced, missingCat, "ini", "a.b", nil, true),                                  // holds: no file, absent
		c(policies.PostureTelemetryOn, badCat, "json", "a", []string{"1"}, false),                               // error
		{Kind: policies.PostureUpdatesOff, OS: "plan9", File: "/x", Format: "exists", Source: src},              // other OS: skipped
		{Kind: policies.PostureRecording, OS: runtime.GOOS, Folder: "~/Zoom", Source: src},                      // the watcher's
	}
	var r Reader
	got, errs := r.Read(context.Background(), checks, testOwner(home))
	want := []policies.PostureReading{
		{Kind: policies.PostureUpdatesOff, Where: iniCat + " (General.enableAutoUpdate)", Detail: "FALSE"},
		{Kind: policies.PostureSSONotEnforced, Where: iniCat + " (General.sso)", Detail: "not set"},
		{Kind: policies.PostureUpdatesOff, Where: jsonCat + " (update.auto)", Detail: "false"},
		{Kind: policies.PostureAutostart, Where: desktopCat, Detail: "starts at login"},
		{Kind: policies.PostureKeepsRunning, Where: jsonCat, Detail: "present"},
		{Kind: policies.PostureSSONotEnforced, Where: missingCat + " (a.b)", Detail: "not set"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read =\n%+v\nwant\n%+v", got, want)
	}
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one for the broken file", errs)
	}
	msg := errs[0].Error()
	if !strings.Contains(msg, badDisk) || !strings.Contains(msg, "not valid JSON") || strings.Contains(msg, "secret") {
		t.Errorf("error = %q, want the file and what is wrong, not its content", msg)
	}
}

func TestReadSystemRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	file := "/etc/app/policy.json"
	if runtime.GOOS == "windows" {
		file = `C:\app\policy.json`
	}
	dest, _, err := expandPath(runtime.GOOS, file, "", os.Getenv, root)
	if err != nil || !strings.HasPrefix(dest, root) {
		t.Fatalf("expandPath = %q, %v", dest, err)
	}
	writeFile(t, dest, `{"AutoUpdate": 0}`)
	r := Reader{SystemRoot: root}
	check := policies.PostureCheck{Kind: policies.PostureUpdatesOff, OS: runtime.GOOS, File: file, Format: "json", Key: "AutoUpdate", Values: []string{"0"}, Source: "https://example.org"}
	got, errs := r.Read(context.Background(), []policies.PostureCheck{check}, Owner{})
	if len(errs) != 0 || len(got) != 1 || got[0].Detail != "0" {
		t.Errorf("Read = %+v, %v; want one reading", got, errs)
	}
}

func TestReadCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var r Reader
	check := policies.PostureCheck{Kind: policies.PostureKeepsRunning, OS: runtime.GOOS, File: "~/x", Format: "exists"}
	if runtime.GOOS == "windows" {
		check.File = `%APPDATA%\x`
	}
	got, errs := r.Read(ctx, []policies.PostureCheck{check}, testOwner(t.TempDir()))
	if len(got) != 0 || len(errs) != 1 {
		t.Errorf("Read after cancel = %v, %v", got, errs)
	}
}
