//go:build windows

package appconfig

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// readUserFile reads a file from a user's profile as SYSTEM without trusting
// it: the file is opened with FILE_FLAG_OPEN_REPARSE_POINT, so a symbolic
// link or junction in the final component is opened itself, not followed,
// and refused; directories and files that are not disk files are refused;
// the size is bounded. Checks run on the opened handle. uid is not used on
// Windows: a profile's files are owned by the user, Administrators or
// SYSTEM, and reading them carries no other user's data.
func readUserFile(path string, _ int, limit int64) ([]byte, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Share everything: the app may hold the file open while it runs.
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(h), path)
	defer f.Close()
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		return nil, fmt.Errorf("%s: %w", path, errSymlink)
	}
	if info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
		return nil, fmt.Errorf("%s: %w", path, errNotFile)
	}
	if t, err := windows.GetFileType(h); err != nil || t != windows.FILE_TYPE_DISK {
		return nil, fmt.Errorf("%s: %w", path, errNotFile)
	}
	size := int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow)
	if size > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, errTooLarge, limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, errTooLarge, limit)
	}
	return b, nil
}

// userDir is a directory of a user's profile that is not a reparse point.
// Windows has no openat in the standard library, so the directory is
// checked by path (Lstat) and its files are opened by path; each file is
// still opened without following a reparse point.
type userDir struct {
	path string
	uid  int
}

func openUserDir(path string, uid int) (*userDir, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return nil, fmt.Errorf("%s: %w", path, errSymlink)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", path, errNotDir)
	}
	return &userDir{path: path, uid: uid}, nil
}

func (d *userDir) names() ([]string, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.path, err)
	}
	n := make([]string, 0, len(entries))
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return n, nil
}

func (d *userDir) readFile(name string, limit int64) ([]byte, error) {
	return readUserFile(filepath.Join(d.path, name), d.uid, limit)
}

func (d *userDir) Close() error { return nil }
