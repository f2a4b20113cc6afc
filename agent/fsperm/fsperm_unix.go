//go:build unix

package fsperm

import (
	"fmt"
	"os"
	"syscall"
)

// Protect creates dir (and its parents) when it does not exist, with mode
// 0700, or 0755 with usersMayRead. An existing directory keeps its mode:
// the callers check it where it matters (the status directory).
func Protect(dir string, usersMayRead bool) error {
	perm := os.FileMode(0o700)
	if usersMayRead {
		perm = 0o755
	}
	return os.MkdirAll(dir, perm)
}

// CheckNotWritableByOthers refuses a file or directory that someone other
// than root owns, or that group or others may write.
func CheckNotWritableByOthers(path string) error {
	return check(path, 0o022, "writable by group or others")
}

// CheckPrivate refuses a file or directory that someone other than root
// owns, or that group or others may read or write.
func CheckPrivate(path string) error {
	return check(path, 0o077, "readable or writable by group or others")
}

func check(path string, bits os.FileMode, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		return fmt.Errorf("%s: owned by uid %d, not root", path, st.Uid)
	}
	if fi.Mode().Perm()&bits != 0 {
		return fmt.Errorf("%s: %s (%s)", path, what, fi.Mode().Perm())
	}
	return nil
}

// MkdirAll creates dir (and its parents) when it does not exist, with mode
// 0700, or 0755 with usersMayRead.
func MkdirAll(dir string, usersMayRead bool) error { return Protect(dir, usersMayRead) }
