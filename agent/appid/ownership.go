package appid

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// fileMeta is what the ownership check needs to know about a file.
type fileMeta struct {
	uid  uint32
	mode fs.FileMode
}

// metaFS is the file-system view of path resolution and the ownership
// check: lstat and readlink. Linux uses the real one (osMetaFS); tests on
// any OS use a fake.
type metaFS interface {
	lstat(name string) (fileMeta, error)
	readlink(name string) (string, error)
}

// maxSymlinks bounds symlinks followed while resolving one path (as Linux's
// MAXSYMLINKS).
const maxSymlinks = 40

// joinRoot maps an absolute path of the inspected system to the path to
// open under root ("" or "/" for the real system).
func joinRoot(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	root = strings.TrimSuffix(root, "/")
	if p == "/" {
		return root
	}
	if !strings.HasPrefix(p, "/") {
		return root + "/" + p
	}
	return root + p
}

// resolveInRoot resolves every symlink in the absolute path p as the
// inspected system would, with root as its "/": absolute link targets and
// ".." never leave root. The result is absolute and symlink-free.
func resolveInRoot(fsys metaFS, root, p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("resolve %q: not an absolute path", p)
	}
	resolved := "" // "" is "/"
	rest := strings.Split(p, "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = strings.TrimSuffix(path.Dir("/"+strings.TrimPrefix(resolved, "/")), "/")
			continue
		}
		next := resolved + "/" + c
		m, err := fsys.lstat(joinRoot(root, next))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if m.mode&fs.ModeSymlink == 0 {
			if len(rest) > 0 && !m.mode.IsDir() && !onlyEmpty(rest) {
				return "", fmt.Errorf("resolve %s: %s is not a directory", p, next)
			}
			resolved = next
			continue
		}
		links++
		if links > maxSymlinks {
			return "", fmt.Errorf("resolve %s: more than %d symlinks", p, maxSymlinks)
		}
		target, err := fsys.readlink(joinRoot(root, next))
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if target == "" {
			return "", fmt.Errorf("resolve %s: empty symlink %s", p, next)
		}
		if strings.HasPrefix(target, "/") {
			resolved = ""
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if resolved == "" {
		return "/", nil
	}
	return resolved, nil
}

func onlyEmpty(parts []string) bool {
	for _, p := range parts {
		if p != "" && p != "." {
			return false
		}
	}
	return true
}

// errNotProtected says a file or a directory on its path could be changed by
// someone other than root.
var errNotProtected = errors.New("not protected")

// checkRootOwned checks that the executable p (symlinks resolved first) is a
// regular file owned by root and that neither it nor any directory up to "/"
// is owned by another user or writable by group or others. A world-writable
// directory with the sticky bit (/tmp) is not safe either: anyone may add
// files to it.
func checkRootOwned(fsys metaFS, root, p string) error {
	resolved, err := resolveInRoot(fsys, root, p)
	if err != nil {
		return err
	}
	for cur := resolved; ; cur = path.Dir(cur) {
		m, err := fsys.lstat(joinRoot(root, cur))
		if err != nil {
			return fmt.Errorf("check %s: %w", cur, err)
		}
		if cur == resolved && !m.mode.IsRegular() {
			return fmt.Errorf("%s is not a regular file: %w", cur, errNotProtected)
		}
		if m.uid != 0 {
			return fmt.Errorf("%s is owned by uid %d, not root: %w", cur, m.uid, errNotProtected)
		}
		if m.mode.Perm()&0o022 != 0 {
			return fmt.Errorf("%s is writable by group or others (%v): %w", cur, m.mode, errNotProtected)
		}
		if cur == "/" {
			return nil
		}
	}
}
