//go:build unix

package policydir

import (
	"fmt"
	"os"
	"syscall"
)

// checkProtected refuses a file or directory that someone other than root
// may have written: policy from it could be anyone's.
func (d *Dir) checkProtected(path string) error {
	if !d.checkOwner {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && st.Uid != 0 {
		return fmt.Errorf("%s: owned by uid %d, not root: not applied", path, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s: writable by group or others (%s): not applied", path, fi.Mode().Perm())
	}
	return nil
}
