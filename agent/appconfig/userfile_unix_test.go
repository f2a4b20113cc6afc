//go:build unix

package appconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadUserFileRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	regular := filepath.Join(dir, "config.json")
	if err := os.WriteFile(regular, []byte(`{"version":4}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	uid := os.Getuid()
	tests := []struct {
		name  string
		path  string
		limit int64
		want  error
	}{
		{"regular", regular, maxConfigBytes, nil},
		{"symlink", link, maxConfigBytes, errSymlink},
		{"fifo", fifo, maxConfigBytes, errNotFile}, // must not block waiting for a writer
		{"directory", sub, maxConfigBytes, errNotFile},
		{"too large", regular, 4, errTooLarge},
		{"missing", filepath.Join(dir, "none"), maxConfigBytes, os.ErrNotExist},
	}
	for _, tt := range tests {
		_, err := readUserFile(tt.path, uid, tt.limit)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestReadUserFileOwner(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to give files to other users")
	}
	dir := t.TempDir()
	owned := func(uid int) string {
		p := filepath.Join(dir, "owned-by-"+itoaTest(uid))
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const user, other = 4242, 4343
	tests := []struct {
		path string
		want error
	}{
		{owned(user), nil},
		{owned(0), nil}, // root's files in a home (installed defaults) are trusted
		{owned(other), errOwner},
	}
	for _, tt := range tests {
		_, err := readUserFile(tt.path, user, maxConfigBytes)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.path, err, tt.want)
		}
	}
	// A LevelDB directory of another user is refused as a whole.
	ldb := filepath.Join(dir, "leveldb")
	copyDir(t, filepath.Join("testdata", "jitsi-meet", "leveldb-public"), ldb)
	if err := os.Chown(ldb, other, other); err != nil {
		t.Fatal(err)
	}
	if _, err := readLevelDB(ldb, user, "test", func([]byte) bool { return true }); !errors.Is(err, errOwner) {
		t.Errorf("other user's directory: err = %v, want errOwner", err)
	}
}

func itoaTest(i int) string { return strconv.Itoa(i) }

func TestReadRefusesLinkedLevelDB(t *testing.T) {
	t.Parallel()
	uid := os.Getuid()
	// The leveldb directory itself is a link to elsewhere.
	home := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "leveldb")
	copyDir(t, filepath.Join("testdata", "jitsi-meet", "leveldb-public"), elsewhere)
	lsDir := filepath.Join(home, ".config", "Jitsi Meet", "Local Storage")
	if err := os.MkdirAll(lsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(lsDir, "leveldb")); err != nil {
		t.Fatal(err)
	}
	if _, err := jitsiReader().Read(context.Background(), home, uid); !errors.Is(err, errSymlink) {
		t.Errorf("linked directory: err = %v, want errSymlink", err)
	}
	// A log file inside it is a link.
	home2 := t.TempDir()
	dir := filepath.Join(home2, ".config", "Jitsi Meet", "Local Storage", "leveldb")
	copyDir(t, filepath.Join("testdata", "jitsi-meet", "leveldb-public"), dir)
	if err := os.Remove(filepath.Join(dir, "000003.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "000003.log"), filepath.Join(dir, "000003.log")); err != nil {
		t.Fatal(err)
	}
	if _, err := jitsiReader().Read(context.Background(), home2, uid); !errors.Is(err, errSymlink) {
		t.Errorf("linked log file: err = %v, want errSymlink", err)
	}
	// A settings file that is a link is an error, not "not configured".
	home3 := t.TempDir()
	cfg := filepath.Join(home3, ".config", "Mattermost", "config.json")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := mattermostReader().Read(context.Background(), home3, uid); !errors.Is(err, errSymlink) {
		t.Errorf("linked config.json: err = %v, want errSymlink", err)
	}
}
