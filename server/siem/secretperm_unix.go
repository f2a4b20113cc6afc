//go:build unix

package siem

import (
	"fmt"
	"os"
)

// checkSecretPrivate refuses a secret file that its group or others may read.
func checkSecretPrivate(path string, info os.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("--siem-webhook-secret-file %s: mode %v lets others read it; chmod 600 it", path, perm)
	}
	return nil
}
