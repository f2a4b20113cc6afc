// Package machinelock serialises tests of different packages that change
// the same machine-wide state, such as the browsers' managed policy
// directories in /etc: `go test ./...` runs packages in parallel, and two
// policy files in Chromium's managed directory at once would decide each
// other's outcome. A test takes the lock by name for its whole run.
package machinelock

import (
	"os"
	"path/filepath"
	"testing"
)

// BrowserPolicies is the lock of the browsers' system-wide policy places.
const BrowserPolicies = "browser-policies"

// Lock takes the machine-wide lock name until the test ends, waiting for
// another test process that holds it. Unix only (flock); elsewhere it
// only serialises within the process.
func Lock(t testing.TB, name string) {
	t.Helper()
	release, err := acquire(name)
	if err != nil {
		t.Fatalf("machine lock %s: %v", name, err)
	}
	t.Cleanup(release)
}

func acquire(name string) (release func(), err error) {
	path := filepath.Join(os.TempDir(), "vcguard-test-"+name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { unlock(f); f.Close() }, nil
}
