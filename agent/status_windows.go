package agent

import (
	"fmt"

	"github.com/vcguard/vcguard/agent/fsperm"
)

// checkStatusDir refuses a status directory that someone other than
// SYSTEM or Administrators owns or may write to. writeStatusFile created it
// with a protected access list when it was missing; one that existed
// before is checked, not changed: it may not be the agent's alone.
func checkStatusDir(dir string) error {
	if err := fsperm.CheckNotWritableByOthers(dir); err != nil {
		return fmt.Errorf("status directory: %w", err)
	}
	return nil
}
