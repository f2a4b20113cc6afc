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
