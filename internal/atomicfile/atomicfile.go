// Package atomicfile replaces a file's content atomically and durably, the
// same way on Linux, macOS and Windows. It is the one place vcguard writes a
// file that must never be seen half-written (policy cache, status file,
// outbox, enrollment state, server keys).
//
// Written by hand: the well-known libraries (google/renameio, natefinch/atomic)
// either do not support Windows or rename over a target with os.Rename, which
// lacks MOVEFILE_WRITE_THROUGH and gives up at the first sharing violation
// that a virus scanner or a concurrent reader causes on Windows.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data and gives it mode perm.
//
// The data goes into a new file created exclusively under a random name in
// path's directory (so no link planted there can redirect the write), is
// synced and closed, and then renamed over path. After a power loss path
// holds the old or the new content, and the new one once WriteFile has
// returned nil. Nothing is kept open across the rename: Windows refuses to
// rename a file that is open without FILE_SHARE_DELETE, which is how the os
// package opens every file.
//
// The caller must not hold path open itself (on Windows the replace would
// fail); it reopens path after WriteFile when it needs it.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := write(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func write(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = chmod(f, perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}
