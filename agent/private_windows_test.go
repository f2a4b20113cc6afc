package agent

import (
	"path/filepath"
	"testing"

	"github.com/vcguard/vcguard/agent/fsperm"
	"github.com/vcguard/vcguard/internal/wine"
)

// checkPrivateFile checks the Windows equivalent of mode 0600, which
// Windows does not have: nobody else may write path or its directory (the
// state directory, protected by New), nor read them.
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{filepath.Dir(path), path} {
		if err := fsperm.CheckNotWritableByOthers(p); err != nil {
			t.Error(err)
		}
	}
	t.Run("not readable by others", func(t *testing.T) {
		if wine.Running() {
			t.Skip("Wine: Wine 8 stores no security descriptors; it makes one up from the Unix mode (Everyone read from the umask; see agent/fsperm TestWineKeepsNoSecurityDescriptor)")
		}
		for _, p := range []string{filepath.Dir(path), path} {
			if err := fsperm.CheckPrivate(p); err != nil {
				t.Error(err)
			}
		}
	})
}
