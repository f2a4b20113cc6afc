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
