//go:build !unix && !windows

package atomicfile

import "os"

func chmod(f *os.File, perm os.FileMode) error { return f.Chmod(perm) }

func replace(tmp, path string) error { return os.Rename(tmp, path) }

// syncDir does nothing where the os package cannot sync a directory.
func syncDir(string) error { return nil }
