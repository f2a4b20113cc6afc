//go:build unix

package outbox_test

import (
	"os"
	"testing"
)

// protectStateDir does nothing on Unix: the outbox makes its directory
// 0700 and its files 0600 itself.
func protectStateDir(*testing.T, string) {}

// checkPrivate checks path's mode.
func checkPrivate(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}
