//go:build !unix && !windows

package fsperm

import (
	"errors"
	"fmt"
	"os"
)

// Protect creates dir; this OS has neither modes nor access lists the
// agent knows how to set.
func Protect(dir string, usersMayRead bool) error { return os.MkdirAll(dir, 0o700) }

// CheckNotWritableByOthers cannot tell on this OS.
func CheckNotWritableByOthers(path string) error {
	return fmt.Errorf("check %s: %w", path, errors.ErrUnsupported)
}

// CheckPrivate cannot tell on this OS.
func CheckPrivate(path string) error {
	return fmt.Errorf("check %s: %w", path, errors.ErrUnsupported)
}

// MkdirAll creates dir.
func MkdirAll(dir string, usersMayRead bool) error { return os.MkdirAll(dir, 0o700) }
