package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWriteFileCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acked")
	for i, content := range []string{"1", "22", ""} {
		if err := WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Fatalf("write %d: read %q, want %q", i, got, content)
		}
	}
	assertOnly(t, dir, "acked")
}

func TestWriteFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows files have ACLs, not modes: WriteFile leaves them to the directory")
	}
	dir := t.TempDir()
	for _, perm := range []os.FileMode{0o600, 0o644} {
		path := filepath.Join(dir, perm.String())
		if err := WriteFile(path, []byte("x"), perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), perm)
		}
	}
}

// A failed write names the file and leaves no temporary file and the old
// content in place.
func TestWriteFileFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory at the target cannot be replaced by a file.
	blocked := filepath.Join(dir, "blocked")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "inside"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(blocked, []byte("new"), 0o600)
	if err == nil || !strings.Contains(err.Error(), blocked) {
		t.Fatalf("replacing a directory: err = %v, want an error naming %s", err, blocked)
	}
	missing := filepath.Join(dir, "no-such-dir", "file")
	if err := WriteFile(missing, []byte("x"), 0o600); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing directory: err = %v, want an error naming %s", err, missing)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "old" {
		t.Fatalf("old file: %q, %v", got, err)
	}
	assertOnly(t, dir, "blocked", "policy.yaml")
}

// A reader that holds the target open while the file is replaced (a virus
// scanner, the status command) delays the replace on Windows and never makes
// it fail; elsewhere the reader keeps the old content.
func TestWriteFileWhileTargetIsOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acked")
	if err := WriteFile(path, []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Close()
		close(released)
	}()
	if err := WriteFile(path, []byte("2"), 0o600); err != nil {
		t.Fatalf("replace while a reader held the file: %v", err)
	}
	<-released
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "2" {
		t.Fatalf("after replace: %q, %v", got, err)
	}
	assertOnly(t, dir, "acked")
}

// The temporary file is never a predictable name: a file planted under the
// old "<name>.tmp" convention is neither followed nor removed.
func TestWriteFileIgnoresPlantedTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status.json")
	planted := path + ".tmp"
	if err := os.WriteFile(planted, []byte("planted"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(planted)
	if err != nil || string(got) != "planted" {
		t.Fatalf("planted file changed: %q, %v", got, err)
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("directory holds %v, want %v (no temporary file left)", got, names)
	}
}
