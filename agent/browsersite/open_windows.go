//go:build windows

package browsersite

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// openInHome opens the regular file rel ("/"-separated, relative to home)
// for reading. Every directory below home must be a plain directory (no
// symlink, junction or other reparse point: os.Lstat shows them as symlinks
// or irregular files), and the file is opened without following a reparse
// point and must be a plain file.
//
// Unlike on Linux and macOS, the owner is not checked: Windows files carry
// an owner SID and an access list, the caller knows the profile by its
// directory rather than by a SID, and a profile under C:\Users\<name> is
// protected by that directory's inherited access list, which lets only its
// user, SYSTEM and Administrators write. The directory walk is also not
// atomic (Windows has no openat): a component swapped for a junction
// between the check and the open is followed. Both are accepted for now:
// what is read is only parsed for permission decisions.
func openInHome(home, rel string, _ int) (*os.File, error) {
	parts, err := splitRel(rel)
	if err != nil {
		return nil, fmt.Errorf("open in %s: %w", home, err)
	}
	at := home
	for _, p := range parts[:len(parts)-1] {
		at = filepath.Join(at, p)
		fi, err := os.Lstat(at)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
			return nil, fileError(at, "a symlink or reparse point")
		}
		if !fi.IsDir() {
			return nil, fileError(at, "not a directory")
		}
	}
	full := filepath.Join(home, filepath.FromSlash(rel))
	name, err := windows.UTF16PtrFromString(full)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	// Share everything: the browser keeps writing and renaming its files.
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, &os.PathError{Op: "stat", Path: full, Err: err}
	}
	switch {
	case info.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		err = fileError(full, "a symlink or reparse point")
	case info.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		err = fileError(full, "a directory")
	}
	if err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return os.NewFile(uintptr(h), full), nil
}
