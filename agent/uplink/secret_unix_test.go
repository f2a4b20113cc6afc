//go:build unix

package uplink

import (
	"os"
	"path/filepath"
	"testing"
)

// checkPrivateFile: the secret and its directory are the owner's alone.
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %s, others may read it", p, fi.Mode().Perm())
		}
	}
}
