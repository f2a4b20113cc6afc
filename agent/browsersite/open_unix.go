//go:build unix

package browsersite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openInHome opens the regular file rel ("/"-separated, relative to home)
// for reading as the root agent may: one component at a time from home with
// openat and O_NOFOLLOW, so that no symlink below home is followed and no
// component can be swapped for one between check and open. Every directory
// below home and the file must be owned by uid or root, and the file must be
// a regular file; a root-owned file with more than one link is refused (a
// hard link the person made to a system file). home itself is the caller's,
// taken from the account database, and may be reached through symlinks.
func openInHome(home, rel string, uid int) (*os.File, error) {
	parts, err := splitRel(rel)
	if err != nil {
		return nil, fmt.Errorf("open in %s: %w", home, err)
	}
	full := filepath.Join(home, filepath.FromSlash(rel))
	dir, err := unix.Open(home, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: home, Err: err}
	}
	defer func() { unix.Close(dir) }()
	at := home
	for _, p := range parts[:len(parts)-1] {
		at = filepath.Join(at, p)
		next, err := unix.Openat(dir, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, openError(dir, p, at, err)
		}
		unix.Close(dir)
		dir = next
		var st unix.Stat_t
		if err := unix.Fstat(dir, &st); err != nil {
			return nil, &os.PathError{Op: "stat", Path: at, Err: err}
		}
		if int(st.Uid) != uid && st.Uid != 0 {
			return nil, fileError(at, fmt.Sprintf("owned by uid %d, not by %d or root", st.Uid, uid))
		}
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	fd, err := unix.Openat(dir, parts[len(parts)-1], unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(dir, parts[len(parts)-1], full, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: full, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = fileError(full, "not a regular file")
	case int(st.Uid) != uid && st.Uid != 0:
		err = fileError(full, fmt.Sprintf("owned by uid %d, not by %d or root", st.Uid, uid))
	case int(st.Uid) != uid && st.Nlink > 1:
		err = fileError(full, "owned by root with more than one link")
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), full), nil
}

// openError names a refused symlink as such (O_NOFOLLOW fails with ELOOP,
// or with ENOTDIR where O_DIRECTORY is checked first, as on Linux: lstat
// tells which); ENOENT stays fs.ErrNotExist.
func openError(dir int, name, path string, err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) || errors.Is(err, unix.ENOTDIR) {
		var st unix.Stat_t
		if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFLNK:
				return fileError(path, "a symlink")
			case unix.S_IFDIR:
			default:
				return fileError(path, "not a directory")
			}
		}
	}
	return &os.PathError{Op: "open", Path: path, Err: err}
}
