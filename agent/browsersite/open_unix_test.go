//go:build unix

package browsersite

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// needRoot skips a test that must chown files to other users.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to other users")
	}
}

func TestOpenInHome(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	uid := os.Getuid()
	writeFile(t, filepath.Join(home, "p/Default/Preferences"), "{}")
	writeFile(t, filepath.Join(home, "elsewhere/Preferences"), "secret")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(home, "elsewhere/Preferences"), filepath.Join(home, "p/Default/Linked")))
	must(os.Symlink(filepath.Join(home, "elsewhere"), filepath.Join(home, "p/Profile 1")))
	must(os.Symlink(filepath.Join(home, "p"), filepath.Join(home, "q")))
	must(syscall.Mkfifo(filepath.Join(home, "p/Default/Fifo"), 0o600))
	must(os.Mkdir(filepath.Join(home, "p/Default/Dir"), 0o700))

	tests := []struct {
		rel     string
		wantErr string // "" when it opens
	}{
		{"p/Default/Preferences", ""},
		{"p/Default/Linked", "p/Default/Linked: a symlink, not read"},
		{"p/Profile 1/Preferences", "p/Profile 1: a symlink, not read"},
		{"q/Default/Preferences", "q: a symlink, not read"},
		{"p/Default/Fifo", "p/Default/Fifo: not a regular file, not read"}, // and no hang waiting for a writer
		{"p/Default/Dir", "p/Default/Dir: not a regular file, not read"},
		{"p/Default/Preferences/x", "p/Default/Preferences: not a directory"},
		{"p/../elsewhere/Preferences", "not a plain relative path"},
		{"/etc/passwd", "not a plain relative path"},
		{"p//Default/Preferences", "not a plain relative path"},
		{"", "empty path"},
	}
	for _, tt := range tests {
		f, err := openInHome(home, tt.rel, uid)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.rel, err)
				continue
			}
			data, _ := io.ReadAll(f)
			f.Close()
			if string(data) != "{}" {
				t.Errorf("%s: read %q", tt.rel, data)
			}
			continue
		}
		if err == nil {
			f.Close()
			t.Errorf("%s: opened, want %q", tt.rel, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.rel, err, tt.wantErr)
		}
	}
	if _, err := openInHome(home, "p/Default/Missing", uid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := openInHome(home, "nothere/Preferences", uid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v, want fs.ErrNotExist", err)
	}
}

func TestOpenInHomeOwners(t *testing.T) {
	needRoot(t)
	t.Parallel()
	const user, other = 4242, 4343
	home := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"mine", "theirs", "rootdir"} {
		must(os.Mkdir(filepath.Join(home, d), 0o755))
	}
	must(os.Chown(filepath.Join(home, "mine"), user, user))
	must(os.Chown(filepath.Join(home, "theirs"), other, other))
	files := map[string]int{ // file -> owner
		"mine/own":      user,
		"mine/root":     0,
		"mine/other":    other,
		"theirs/own":    user,
		"rootdir/own":   user,
		"mine/rootlink": 0,
	}
	for f, owner := range files {
		writeFile(t, filepath.Join(home, f), "x")
		must(os.Chown(filepath.Join(home, f), owner, owner))
	}
	// A second link to a root-owned file: as a person could make to a
	// system file on a file system without protected hard links.
	must(os.Link(filepath.Join(home, "mine/rootlink"), filepath.Join(home, "rootdir/rootlink2")))
	// A second link to the user's own file is the user's business.
	must(os.Link(filepath.Join(home, "mine/own"), filepath.Join(home, "mine/own2")))

	for rel, wantErr := range map[string]string{
		"mine/own":      "",
		"mine/own2":     "",
		"mine/root":     "",
		"rootdir/own":   "",
		"mine/other":    "owned by uid 4343, not by 4242 or root",
		"theirs/own":    "theirs: owned by uid 4343, not by 4242 or root",
		"mine/rootlink": "owned by root with more than one link",
	} {
		f, err := openInHome(home, rel, user)
		if err == nil {
			f.Close()
		}
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", rel, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: err = %v, want %q", rel, err, wantErr)
		}
	}
}

func TestReadInHomeBound(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "big"), strings.Repeat("x", 2<<20+1))
	writeFile(t, filepath.Join(home, "fits"), strings.Repeat("x", 2<<20))
	if _, err := readInHome(home, "big", os.Getuid(), 2<<20); err == nil || !strings.Contains(err.Error(), "larger than 2 MiB, not read") {
		t.Errorf("big: %v", err)
	}
	if data, err := readInHome(home, "fits", os.Getuid(), 2<<20); err != nil || len(data) != 2<<20 {
		t.Errorf("fits: %d bytes, %v", len(data), err)
	}
}
