package main

import (
	"os"

	"github.com/vcguard/vcguard/agent/fsperm"
)

// osManagedStore reads the managed preferences of the agent's domain,
// refusing them unless root owns the file and nobody else may write it.
func osManagedStore() managedStore {
	return plistFileStore{path: managedPlistPath, check: fsperm.CheckNotWritableByOthers, readFile: os.ReadFile}
}
