//go:build unix

package oidclogin

import (
	"fmt"
	"os"
)

// checkSecretPrivate refuses a client secret file that its group or others
// may read.
func checkSecretPrivate(path string, info os.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("--oidc-client-secret-file %s: mode %v lets others read it; chmod 600 it", path, perm)
	}
	return nil
}
