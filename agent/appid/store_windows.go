package appid

import (
	"os"
	"path/filepath"
)

// The service's own environment names the Program Files folder (it may be
// on another drive than C:).
func init() {
	if pf := os.Getenv("ProgramFiles"); pf != "" && filepath.IsAbs(pf) {
		windowsAppsRoot = filepath.Clean(pf) + `\WindowsApps\`
	}
}
