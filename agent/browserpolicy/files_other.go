//go:build !unix

package browserpolicy

import (
	"fmt"
	"os"
)

// openNoFollow refuses a symbolic link and opens the file. The file
// formats are Linux's; elsewhere they serve tests, in directories of the
// test's own.
func openNoFollow(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link", path)
	}
	return os.Open(path)
}

// checkDirOwner has no owner and mode to check: Windows keeps access lists,
// which agent/fsperm checks for the agent's own directories.
func checkDirOwner(string, os.FileInfo) error { return nil }

// checkStateDir refuses a state directory that is a symbolic link or not a
// directory; its access list is agent/fsperm's to set and check.
func checkStateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
		return fmt.Errorf("state directory %s is not a directory (%s)", dir, fi.Mode().Type())
	}
	return nil
}
