//go:build unix

package main

import (
	"os"
	"testing"
)

// wantPrivateMode fails t unless the file is readable and writable by its
// owner only.
func wantPrivateMode(t *testing.T, name string, fi os.FileInfo) {
	t.Helper()
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %v, want 0600", name, mode)
	}
}
