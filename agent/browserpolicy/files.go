package browserpolicy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vcguard/vcguard/internal/atomicfile"
)

// maxPolicyFileBytes bounds what vcguard reads of a policy file: its own
// are a few kilobytes, and one larger is someone else's anyway.
const maxPolicyFileBytes = 1 << 20

// Policy files and the directories vcguard creates for them are readable
// by everyone: browsers run as the user and read them.
const (
	policyFileMode = 0o644
	policyDirMode  = 0o755
)

// files is the place of the file formats.
type files struct{}

// check refuses path when it, or any directory above it, is a symbolic
// link or not what it should be (a regular file, directories), and when
// the directory it is written into (or the nearest existing one above,
// where vcguard would create it) is not root's alone.
func (files) check(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	nearest := ""
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		fi, err := os.Lstat(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		case fi.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link", d)
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", d)
		case nearest == "":
			nearest = d
			if err := checkDirOwner(d, fi); err != nil {
				return err
			}
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func (files) read(path string) ([]byte, bool, error) {
	b, err := readBounded(path, maxPolicyFileBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return b, true, nil
}

// readBounded reads a regular file without following a symbolic link in
// its last component, refusing one larger than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func (files) missing(path string) ([]string, error) {
	var out []string
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		_, err := os.Lstat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		out = append(out, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (files) write(e entry, missing []string) error {
	for _, d := range missing {
		// Mkdir, not MkdirAll: a directory that appeared meanwhile is not
		// vcguard's and must not be taken for it.
		if err := os.Mkdir(d, policyDirMode); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
		// The umask may have narrowed the mode; browsers must read it.
		if err := os.Chmod(d, policyDirMode); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return atomicfile.WriteFile(e.path, e.content, policyFileMode)
}

func (files) remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func (files) removeEmpty(dir string) (bool, error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
		return false, nil // not the directory vcguard created: leave it
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	if len(ents) > 0 {
		return false, nil
	}
	if err := os.Remove(dir); err != nil {
		return false, fmt.Errorf("remove %s: %w", dir, err)
	}
	return true, nil
}

func (files) exists(dir string) bool {
	_, err := os.Lstat(dir)
	return err == nil
}

func (files) under(path, dir string) bool {
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}

func (files) depth(path string) int { return strings.Count(path, string(filepath.Separator)) }
