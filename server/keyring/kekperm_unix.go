//go:build unix

package keyring

import (
	"fmt"
	"os"
)

// checkKEKPrivate refuses a KEK file that its group or others may read.
func checkKEKPrivate(path string, info os.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("--kek-file %s: mode %v lets others read it; chmod 600 it", path, perm)
	}
	return nil
}
