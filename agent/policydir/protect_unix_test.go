//go:build unix

package policydir

import (
	"os"
	"testing"
)

// canCheckOwner: as root the test's files are root's; otherwise the owner
// check would refuse them all.
func canCheckOwner() bool { return os.Geteuid() == 0 }

// writableByEveryone is what the refusal of makeWritableByEveryone's file says.
const writableByEveryone = "writable by group or others"

func makeWritableByEveryone(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
}
