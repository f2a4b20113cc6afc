//go:build unix

package agent

import (
	"os"
	"path/filepath"
	"testing"
)

// The status file, written as root, cannot be redirected through a link
// planted in its directory, and a directory others may write is refused.
func TestWriteStatusFileSafe(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the directory checks apply to an agent running as root")
	}
	dir := filepath.Join(t.TempDir(), "run")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "status.json")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := writeStatusFile(path, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "secret" {
		t.Errorf("the planted link redirected the write: victim now %q", b)
	}
	if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o600 {
		t.Errorf("victim mode changed to %v", fi.Mode().Perm())
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o644 || !fi.Mode().IsRegular() {
		t.Errorf("status file: %v, %v", fi, err)
	}
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if err := writeStatusFile(filepath.Join(open, "status.json"), []byte("{}")); err == nil {
		t.Error("a world-writable status directory was accepted")
	}
}
