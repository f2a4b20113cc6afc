package browsersite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// family is how a browser stores its profiles and permissions.
type family int

const (
	// chromiumFamily: a user-data directory with "Local State" listing
	// profile directories, each with a Preferences file (Opera keeps
	// Preferences in the user-data directory itself).
	chromiumFamily family = iota + 1
	// firefoxFamily: a directory with profiles.ini listing profile
	// directories, each with permissions.sqlite.
	firefoxFamily
)

// browserDir is one place a browser keeps its user data: dir is relative to
// the home directory, "/"-separated.
type browserDir struct {
	family family
	dir    string
}

// profileDir is one profile found below a home directory.
type profileDir struct {
	family family
	rel    string // relative to home, "/"-separated
}

// maxProfiles bounds the profiles read per browser directory: the list
// comes from a file the person controls.
const maxProfiles = 100

// Profiles lists the profile directories of one catalog browser (its app
// id: chrome, chromium, microsoft-edge, brave, vivaldi, opera, firefox)
// under home, for the user uid who owns home. Chromium-family browsers list
// their profiles in "Local State" (a "Default" directory counts even when
// that file is missing or broken), Firefox in profiles.ini; a profile
// outside home is not listed. A browser this OS has no layout for (Safari,
// or any browser on an OS other than Linux, macOS and Windows) gives an
// error wrapping errors.ErrUnsupported. What was found is returned together
// with an error naming what could not be read.
func Profiles(home string, uid int, browserAppID string) ([]string, error) {
	ps, err := listProfiles(home, uid, browserAppID)
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, filepath.Join(home, filepath.FromSlash(p.rel)))
	}
	return out, err
}

func listProfiles(home string, uid int, appID string) ([]profileDir, error) {
	dirs, ok := browserDirs[appID]
	if !ok {
		return nil, fmt.Errorf("browser %q: no known profile location on this OS: %w", appID, errors.ErrUnsupported)
	}
	var (
		out  []profileDir
		errs []error
	)
	for _, d := range dirs {
		if !isPlainDir(home, d.dir) {
			continue
		}
		var ps []profileDir
		var err error
		switch d.family {
		case chromiumFamily:
			ps, err = chromiumProfiles(home, uid, d.dir)
		case firefoxFamily:
			ps, err = firefoxProfiles(home, uid, d.dir)
		}
		out = append(out, ps...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// isPlainDir reports whether rel below home is a directory that is not a
// symlink (only its last component is looked at; openInHome checks all of
// them when a file in it is read).
func isPlainDir(home, rel string) bool {
	fi, err := os.Lstat(filepath.Join(home, filepath.FromSlash(rel)))
	return err == nil && fi.IsDir()
}

func chromiumProfiles(home string, uid int, root string) ([]profileDir, error) {
	names := map[string]bool{"Default": true}
	var err error
	data, rerr := readInHome(home, root+"/Local State", uid, maxLocalStateBytes)
	switch {
	case errors.Is(rerr, fs.ErrNotExist):
	case rerr != nil:
		err = rerr
	default:
		listed, perr := ParseLocalState(data)
		if perr != nil {
			err = fmt.Errorf("%s: %w", filepath.Join(home, filepath.FromSlash(root), "Local State"), perr)
		}
		if len(listed) > maxProfiles {
			err = fmt.Errorf("%s: Local State lists %d profiles, reading the first %d", filepath.Join(home, filepath.FromSlash(root)), len(listed), maxProfiles)
			listed = listed[:maxProfiles]
		}
		for _, n := range listed {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var out []profileDir
	// Opera keeps one profile in the user-data directory itself.
	if fi, e := os.Lstat(filepath.Join(home, filepath.FromSlash(root), "Preferences")); e == nil && fi.Mode().IsRegular() {
		out = append(out, profileDir{chromiumFamily, root})
	}
	for _, n := range sorted {
		if isPlainDir(home, root+"/"+n) {
			out = append(out, profileDir{chromiumFamily, root + "/" + n})
		}
	}
	return out, err
}

func firefoxProfiles(home string, uid int, root string) ([]profileDir, error) {
	data, err := readInHome(home, root+"/profiles.ini", uid, maxINIBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	where := filepath.Join(home, filepath.FromSlash(root))
	listed, err := ParseProfilesINI(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err) // the error starts with profiles.ini:LINE
	}
	var (
		out  []profileDir
		errs []error
		seen = map[string]bool{}
	)
	for _, p := range listed {
		var rel string
		if p.IsRelative {
			rel = path.Clean(root + "/" + p.Path)
		} else {
			r, err := filepath.Rel(home, filepath.Clean(p.Path))
			if err != nil || !filepath.IsAbs(p.Path) || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				errs = append(errs, fmt.Errorf("%s: profiles.ini: a profile outside the home directory is not read", where))
				continue
			}
			rel = filepath.ToSlash(r)
		}
		if seen[rel] || !isPlainDir(home, rel) {
			continue
		}
		if len(out) == maxProfiles {
			errs = append(errs, fmt.Errorf("%s: profiles.ini lists more than %d profiles, reading the first %d", where, maxProfiles, maxProfiles))
			break
		}
		seen[rel] = true
		out = append(out, profileDir{firefoxFamily, rel})
	}
	return out, errors.Join(errs...)
}

// Read returns the allowed, unexpired camera and microphone grants of every
// profile of one catalog browser under home (see Profiles), each with its
// profile's directory name. A profile without a permission store yet is
// skipped; what could not be read is named in the error, returned together
// with the grants that could.
func Read(ctx context.Context, home string, uid int, browserAppID string) ([]Grant, error) {
	return readAt(ctx, home, uid, browserAppID, time.Now())
}

// readAt is Read with the time that decides which grants have expired.
func readAt(ctx context.Context, home string, uid int, browserAppID string, now time.Time) ([]Grant, error) {
	ps, err := listProfiles(home, uid, browserAppID)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var out []Grant
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		var (
			grants []Grant
			err    error
		)
		switch p.family {
		case chromiumFamily:
			grants, err = readChromiumProfile(home, uid, p.rel)
		case firefoxFamily:
			grants, err = readFirefoxProfile(ctx, home, uid, p.rel)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, g := range grants {
			if g.Active(now) {
				g.Profile = path.Base(p.rel)
				out = append(out, g)
			}
		}
	}
	sortGrants(out)
	return out, errors.Join(errs...)
}

func readChromiumProfile(home string, uid int, rel string) ([]Grant, error) {
	data, err := readInHome(home, rel+"/Preferences", uid, maxPreferencesBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	grants, err := ParseChromiumPreferences(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(home, filepath.FromSlash(rel), "Preferences"), err)
	}
	return grants, nil
}

// readFirefoxProfile copies permissions.sqlite and its -wal, one after the
// other and without taking SQLite's locks (Firefox holds them). A copy taken
// while Firefox writes (a commit in progress, a checkpoint between the two
// copies) can be inconsistent: the result is then an error or, at worst,
// the decisions as they were a moment earlier, and the next read is right.
// Chromium's Preferences has no such window: Chromium replaces the file
// whole (write to a temporary file, then rename).
func readFirefoxProfile(ctx context.Context, home string, uid int, rel string) ([]Grant, error) {
	db, err := openInHome(home, rel+"/permissions.sqlite", uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var walReader *os.File
	wal, err := openInHome(home, rel+"/permissions.sqlite-wal", uid)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		defer wal.Close()
		walReader = wal
	}
	var grants []Grant
	if walReader != nil {
		grants, err = ReadFirefoxPermissions(ctx, db, walReader)
	} else {
		grants, err = ReadFirefoxPermissions(ctx, db, nil) // a nil *os.File in the interface would not be nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(home, filepath.FromSlash(rel)), err) // the error starts with permissions.sqlite
	}
	return grants, nil
}
