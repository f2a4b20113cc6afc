//go:build unix

package posture

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vcguard/vcguard/policies"
	"golang.org/x/sys/unix"
)

// TestReadRefusesUnsafeFiles: a symbolic link, a FIFO and (as root) a file
// of a third user under the home give an error and no reading.
func TestReadRefusesUnsafeFiles(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere.ini")
	writeFile(t, target, "[a]\nb=0\n")
	if err := os.Symlink(target, filepath.Join(home, "link.ini")); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(filepath.Join(home, "fifo.ini")); err != nil {
		t.Fatal(err)
	}
	check := func(file string) policies.PostureCheck {
		return policies.PostureCheck{Kind: policies.PostureUpdatesOff, OS: runtime.GOOS, File: "~/" + file, Format: "ini", Key: "a.b", Values: []string{"0"}, Source: "https://example.org"}
	}
	checks := []policies.PostureCheck{check("link.ini"), check("fifo.ini")}
	wantErrs := []string{"symbolic link", "not a regular file"}
	if os.Getuid() == 0 {
		other := filepath.Join(home, "other.ini")
		writeFile(t, other, "[a]\nb=0\n")
		if err := os.Chown(other, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		checks = append(checks, check("other.ini"))
		wantErrs = append(wantErrs, "owned by neither")
	}
	var r Reader
	got, errs := r.Read(context.Background(), checks, Owner{Home: home, UID: 1000})
	if len(got) != 0 {
		t.Errorf("readings = %v, want none", got)
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", errs, len(wantErrs))
	}
	for i, want := range wantErrs {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %v, want %q", i, errs[i], want)
		}
	}
}

func mkfifo(path string) error { return unix.Mkfifo(path, 0o644) }

// TestWatchRecordingsRefusesLink: a recording folder that is a symbolic
// link is not watched.
func TestWatchRecordingsRefusesLink(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(home, "Zoom")); err != nil {
		t.Fatal(err)
	}
	var r Reader
	check := policies.PostureCheck{Kind: policies.PostureRecording, OS: runtime.GOOS, Folder: "~/Zoom"}
	err := r.WatchRecordings(context.Background(), check, Owner{Home: home, UID: os.Getuid()}, func(policies.PostureReading) {})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("WatchRecordings = %v, want refused", err)
	}
}

// TestReadManagedPreferencesRefusesLink: a managed-preferences file that
// is a symbolic link is refused with an error naming it, and the file
// below it is not read in its place.
func TestReadManagedPreferencesRefusesLink(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "forced.plist")
	writeFile(t, elsewhere, string(xmlPlist(t, map[string]any{"ForceSSOURL": "example"})))
	managed := filepath.Join(root, "Library", "Managed Preferences", "us.zoom.config.plist")
	if err := os.MkdirAll(filepath.Dir(managed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, managed); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "Library", "Preferences", "us.zoom.config.plist"), string(xmlPlist(t, map[string]any{"ForceSSOURL": "example"})))
	check := policies.PostureCheck{Kind: policies.PostureSSONotEnforced, OS: "darwin", File: "/Library/Preferences/us.zoom.config.plist", Format: "plist", Key: "ForceSSOURL", Absent: true, Source: "https://example.org"}
	r := Reader{SystemRoot: root}
	rd, holds, err := r.readOne("darwin", check, Owner{Home: t.TempDir(), UID: os.Getuid(), User: "ann"})
	if err == nil || holds || !strings.Contains(err.Error(), managed) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("readOne = %+v, %v, %v; want the link refused", rd, holds, err)
	}
}
