package outbox_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/internal/wine"
)

// protectStateDir gives the directory the outbox lives in what the agent
// gives its state directory: on Windows files have access lists, not
// modes, and the outbox's files get theirs from that directory.
func protectStateDir(t *testing.T, dir string) {
	t.Helper()
	if err := fsperm.Protect(dir, false); err != nil {
		t.Fatal(err)
	}
}

// checkPrivate checks that nobody else may write path, nor read it (the
// Windows equivalent of the mode, which Windows does not have).
func checkPrivate(t *testing.T, path string, _ os.FileMode) {
	t.Helper()
	if err := fsperm.CheckNotWritableByOthers(path); err != nil {
		t.Error(err)
	}
	t.Run(filepath.Base(path)+" not readable by others", func(t *testing.T) {
		if wine.Running() {
			t.Skip("Wine: Wine 8 stores no security descriptors; it makes one up from the Unix mode (Everyone read from the umask; see agent/fsperm TestWineKeepsNoSecurityDescriptor)")
		}
		if err := fsperm.CheckPrivate(path); err != nil {
			t.Error(err)
		}
	})
}

// Under Wine 8 a write through a handle opened read-only (GENERIC_READ)
// succeeds, where Windows refuses it with ERROR_ACCESS_DENIED: the proof
// behind the drop-mark skip in TestRewriteFailures, whose injected failure
// is such a handle. When this fails, Wine refuses the write and the skip
// can go.
func TestWineWritesThroughReadOnlyHandle(t *testing.T) {
	if !wine.Running() {
		t.Skip("checks a Wine limitation")
	}
	path := filepath.Join(t.TempDir(), "ro")
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err != nil {
		t.Errorf("Wine refused a write through a read-only handle (%v): drop the Wine skip of TestRewriteFailures/drop_mark", err)
	}
}
