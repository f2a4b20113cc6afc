//go:build unix || windows

package policydir

import (
	"fmt"

	"github.com/vcguard/vcguard/agent/fsperm"
)

// checkProtected refuses a file or directory that someone other than root
// owns or that group or others may write (on Windows: that someone other
// than SYSTEM, Administrators or TrustedInstaller owns, or whose access
// list lets anyone else write it; %ProgramData% lets every user create
// files and folders in its new subfolders, so nothing inherited is
// trusted): policy from it could be anyone's.
func (d *Dir) checkProtected(path string) error {
	if !d.checkOwner {
		return nil
	}
	if err := fsperm.CheckNotWritableByOthers(path); err != nil {
		return fmt.Errorf("%w: not applied", err)
	}
	return nil
}
