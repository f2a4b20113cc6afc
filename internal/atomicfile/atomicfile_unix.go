//go:build unix

package atomicfile

import "os"

// chmod sets the final mode; CreateTemp made the file 0600 and the umask
// must not decide what a status file or a certificate may be read by.
func chmod(f *os.File, perm os.FileMode) error { return f.Chmod(perm) }

// replace renames tmp over path; rename(2) is atomic on POSIX file systems.
func replace(tmp, path string) error { return os.Rename(tmp, path) }

// syncDir makes the rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
