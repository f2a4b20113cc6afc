//go:build unix

package appconfig

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readUserFile reads a file from a user's home as root without trusting it:
// a symbolic link in the final component is refused (O_NOFOLLOW), as are a
// file that is not regular (a FIFO would block, a device could be anything),
// a file owned by neither uid nor root, and a file larger than limit. The
// checks run on the opened descriptor, so the file cannot be swapped between
// check and read. Symbolic links in the directories above are followed: a
// user may keep ~/.config in a dotfiles folder, and the owner check still
// keeps other users' files out.
func readUserFile(path string, uid int, limit int64) ([]byte, error) {
	return readAt(unix.AT_FDCWD, path, path, uid, limit)
}

func readAt(dirfd int, name, display string, uid int, limit int64) ([]byte, error) {
	fd, err := openNoFollow(dirfd, name, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", display, err)
	}
	f := os.NewFile(uintptr(fd), display)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", display, err)
	}
	if uint32(st.Mode)&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: %w", display, errNotFile)
	}
	if err := checkOwner(st.Uid, uid); err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	if st.Size > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", display, errTooLarge, limit)
	}
	// The file may grow between fstat and read: read one byte past the
	// bound to notice.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", display, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", display, errTooLarge, limit)
	}
	return b, nil
}

func openNoFollow(dirfd int, name string, extra int) (int, error) {
	for {
		// O_NONBLOCK: opening a FIFO must not wait for a writer; the type
		// check after fstat refuses it.
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|extra, 0)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ELOOP):
			return -1, errSymlink
		case extra&unix.O_DIRECTORY != 0 && errors.Is(err, unix.ENOTDIR):
			// Linux reports a link as "not a directory" under
			// O_DIRECTORY|O_NOFOLLOW; say which it is.
			var st unix.Stat_t
			if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && uint32(st.Mode)&unix.S_IFMT == unix.S_IFLNK {
				return -1, errSymlink
			}
			return -1, errNotDir
		default:
			return -1, err
		}
	}
}

// errOwner refuses a file of a third user: only unix has owners to check.
var errOwner = errors.New("refused: owned by neither the home's owner nor root")

func checkOwner(fileUID uint32, uid int) error {
	if fileUID == 0 || int64(fileUID) == int64(uid) {
		return nil
	}
	return errOwner
}

// userDir is a directory of a user's home opened without following a
// symbolic link; its files are opened relative to it (openat), so the
// directory cannot be swapped for a link between listing and reading.
type userDir struct {
	f    *os.File
	fd   int
	path string
	uid  int
}

func openUserDir(path string, uid int) (*userDir, error) {
	fd, err := openNoFollow(unix.AT_FDCWD, path, unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := checkOwner(st.Uid, uid); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &userDir{f: os.NewFile(uintptr(fd), path), fd: fd, path: path, uid: uid}, nil
}

func (d *userDir) names() ([]string, error) {
	n, err := d.f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.path, err)
	}
	return n, nil
}

func (d *userDir) readFile(name string, limit int64) ([]byte, error) {
	return readAt(d.fd, name, d.path+"/"+name, d.uid, limit)
}

func (d *userDir) Close() error { return d.f.Close() }
