//go:build unix

package agent

import (
	"fmt"
	"os"
	"syscall"
)

// checkStatusDir refuses, for an agent running as root, a status directory
// that someone else owns or may write to.
func checkStatusDir(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || (ok && st.Uid != 0) || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("status directory %s must be a directory owned by root and writable by root only", dir)
	}
	return nil
}
