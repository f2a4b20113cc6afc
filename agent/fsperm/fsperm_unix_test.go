//go:build unix

package fsperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On Unix Protect creates with the mode and leaves an existing directory's
// mode as it was (as the agent always did). Not parallel: it sets the
// umask.
func TestProtectModes(t *testing.T) {
	base := t.TempDir()
	for usersMayRead, want := range map[bool]os.FileMode{false: 0o700, true: 0o755} {
		dir := filepath.Join(base, "new", want.String())
		old := umask(0)
		err := Protect(dir, usersMayRead)
		umask(old)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("Protect(usersMayRead=%v): mode %v, want %v", usersMayRead, fi.Mode().Perm(), want)
		}
	}
}

func TestCheckModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for mode, wantErr := range map[os.FileMode][2]string{
		0o600: {"", ""},
		0o644: {"", "readable or writable by group or others"},
		0o664: {"writable by group or others", "readable or writable by group or others"},
		0o606: {"writable by group or others", "readable or writable by group or others"},
	} {
		path := filepath.Join(dir, mode.String())
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		for i, check := range []func(string) error{CheckNotWritableByOthers, CheckPrivate} {
			err := check(path)
			if os.Geteuid() != 0 {
				// Not root: the file is not root's.
				if err == nil || !strings.Contains(err.Error(), "not root") {
					t.Errorf("%v: %v; want refused as not root's", mode, err)
				}
				continue
			}
			if want := wantErr[i]; (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
				t.Errorf("check %d of %v: %v, want %q", i, mode, err, want)
			}
		}
	}
}

// A state directory pre-created by another user, left writable by
// others, or replaced by a symbolic link is refused with what to do; a
// private one that others may only read is made 0700. Needs root to
// give a directory to another user.
func TestProtectRefusesForeignDirectory(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a directory as another user")
	}
	base := t.TempDir()
	const nobody = 65534

	foreign := filepath.Join(base, "foreign")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(foreign, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(foreign, link); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		foreign:       "is owned by uid 65534, not root",
		foreign + "/": "is owned by uid 65534, not root",
		open:          "is writable by group or others",
		link:          "is a symbolic link",
	} {
		for _, usersMayRead := range []bool{false, true} {
			err := Protect(dir, usersMayRead)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "start the agent again") {
				t.Errorf("Protect(%s, %v) = %v; want %q and what to do", dir, usersMayRead, err, want)
			}
		}
	}

	readable := filepath.Join(base, "readable")
	if err := os.Mkdir(readable, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(readable, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Protect(readable, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(readable); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("a readable private directory: %v, %v; want it made 0700", fi.Mode(), err)
	}
}
