//go:build unix

package fsperm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Protect creates dir (and its parents) when it does not exist, with mode
// 0700, or 0755 with usersMayRead, and refuses a directory the agent must
// not write into: a symbolic link, or one that someone other than the
// agent's own user (root) owns or that group or others may write; another
// user who could plant files or links in it could make the agent write its
// secrets where they read them. A private directory (not usersMayRead)
// that group or others may only read is made 0700.
func Protect(dir string, usersMayRead bool) error {
	perm := os.FileMode(0o700)
	if usersMayRead {
		perm = 0o755
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	const fix = "remove it (or make it a directory owned by %s, mode %s) and start the agent again"
	owner := "root"
	if euid := os.Geteuid(); euid != 0 {
		owner = "uid " + strconv.Itoa(euid)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link, not a directory of its own; "+fix, dir, owner, perm)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory; "+fix, dir, owner, perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not %s: another user may have planted files in it; "+fix, dir, st.Uid, owner, owner, perm)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (%s); "+fix, dir, fi.Mode().Perm(), owner, perm)
	}
	if !usersMayRead && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make %s private: %w", dir, err)
		}
	}
	return nil
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
