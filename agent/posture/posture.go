// Package posture reads, from local state only, the client-posture checks
// that the catalog describes (policies.PostureCheck): a setting in an app's
// INI, JSON or property-list file, an XDG autostart entry, a file that is
// there, a Windows registry value, a newer package offered by the local apt
// lists, and new files in a client's recording folder.
//
// Nothing is fetched and nothing is written. File contents are never logged
// or returned: a reading carries only the catalog's own value that matched
// (or "not set", "present", the versions of a package, a recording's path
// relative to its folder). Files under the signed-in person's home are read
// as the agent (root or SYSTEM) but refused when they are symbolic links,
// not regular files, not owned by that person or root, or larger than a
// bound (appconfig.ReadUserFile).
//
// Parsers are plain functions over bytes without build tags, so every OS's
// formats are tested on Linux; the registry reader is in posture_windows.go.
package posture

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/vcguard/vcguard/agent/appconfig"
	"github.com/vcguard/vcguard/policies"
)

// Owner is the person whose client is checked: the owner of the app's
// process.
type Owner struct {
	// Home is the home directory (the profile directory on Windows).
	Home string
	// UID is the unix user id; files under Home must belong to it or root.
	UID int
	// SID is the Windows security identifier; HKCU\ checks read
	// HKEY_USERS\<SID>\.
	SID string
	// User is the account's short name on macOS: a configuration profile
	// installed for this person keeps its settings in
	// /Library/Managed Preferences/<User>/ (managedprefs.go). Empty: those
	// are not read.
	User string
}

// Reader reads posture checks. The zero value reads the real system.
type Reader struct {
	// Getenv reads the service's environment (%PROGRAMDATA%,
	// %PROGRAMFILES%, %PROGRAMFILES(X86)%); nil is os.Getenv.
	Getenv func(string) string
	// SystemRoot, when set, is put before every absolute path that is not
	// under the owner's home (tests place system files under it).
	SystemRoot string
	// DpkgStatus is dpkg's status file; empty is /var/lib/dpkg/status.
	DpkgStatus string
	// AptLists is apt's lists directory; empty is /var/lib/apt/lists.
	AptLists string
	// PollInterval is how often WatchRecordings looks for a recording
	// folder that does not exist yet; zero is 5 seconds.
	PollInterval time.Duration
}

// thisOS is the OS whose checks are read.
const thisOS = runtime.GOOS

// maxFileBytes bounds one settings file.
const maxFileBytes = appconfig.MaxUserFileBytes

// Read reads every check of checks for the running OS (other OSes' checks
// are skipped) and returns a reading for each one whose finding holds. A
// check whose file, key or value is not there gives no reading unless it is
// Absent; a file that cannot be read or parsed gives an error naming the
// file and what is wrong (never its content) and no reading. Outdated
// packages are read by Outdated.
func (r *Reader) Read(ctx context.Context, checks []policies.PostureCheck, owner Owner) ([]policies.PostureReading, []error) {
	var out []policies.PostureReading
	var errs []error
	for _, c := range checks {
		if c.OS != thisOS || c.Kind == policies.PostureRecording || c.Kind == policies.PostureOutdated {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		rd, ok, err := r.readOne(thisOS, c, owner)
		if err != nil {
			errs = append(errs, fmt.Errorf("posture %s %s: %w", c.Kind, c.Where(), err))
			continue
		}
		if ok {
			out = append(out, rd)
		}
	}
	return out, errs
}

// readOne reads one check of goos (the running OS; tests read darwin's
// files on Linux too).
func (r *Reader) readOne(goos string, c policies.PostureCheck, owner Owner) (policies.PostureReading, bool, error) {
	switch {
	case c.Registry != "":
		value, found, err := readRegistry(c.Registry, c.Key, owner)
		if err != nil {
			return policies.PostureReading{}, false, err
		}
		return judgeValue(c, value, found)
	case c.File != "" && c.Format == policies.FormatPlist && goos == "darwin":
		return r.readPreference(goos, c, owner)
	case c.File != "":
		path, inHome, err := expandPath(goos, c.File, owner.Home, r.getenv, r.SystemRoot)
		if err != nil {
			return policies.PostureReading{}, false, err
		}
		var data []byte
		exists := true
		if c.Format == policies.FormatExists {
			// Only whether it is there counts: nothing is opened.
			if _, err := os.Lstat(path); err != nil {
				if !notExist(err) {
					return policies.PostureReading{}, false, fmt.Errorf("stat %s: %w", path, err)
				}
				exists = false
			}
		} else {
			uid := 0
			if inHome {
				uid = owner.UID
			}
			data, err = appconfig.ReadUserFile(path, uid, maxFileBytes)
			if err != nil {
				if !notExist(err) {
					return policies.PostureReading{}, false, err
				}
				exists = false
			}
		}
		rd, ok, err := judgeFile(c, data, exists)
		if err != nil {
			return policies.PostureReading{}, false, fmt.Errorf("%s: %w", path, err)
		}
		return rd, ok, nil
	}
	return policies.PostureReading{}, false, errors.New("names no file or registry key")
}

// readPreference reads a macOS plist check: the key from the first of the
// user-level managed file, the computer-level managed file and the file
// the catalog names that sets it, when that file is a preference domain's
// (managedprefs.go); from the catalog's file alone otherwise. A reading
// names the file its value came from, so a value a configuration profile
// forces is reported as the profile's. Every file is read as readOne
// reads one: refused when a symbolic link, not a regular file, larger
// than the bound, or owned by anyone but root (and, under the home, the
// owner).
func (r *Reader) readPreference(goos string, c policies.PostureCheck, owner Owner) (policies.PostureReading, bool, error) {
	read := func(s prefSource) ([]byte, string, error) {
		path, inHome, err := expandPath(goos, s.catalog, owner.Home, r.getenv, r.SystemRoot)
		if err != nil {
			return nil, s.catalog, err
		}
		uid := 0
		if inHome {
			uid = owner.UID
		}
		data, err := appconfig.ReadUserFile(path, uid, maxFileBytes)
		return data, path, err
	}
	value, found, from, err := resolvePlist(preferenceSources(c.File, owner.User), c.Key, read)
	if err != nil {
		return policies.PostureReading{}, false, err
	}
	rd, ok, err := judgeValue(c, value, found)
	if ok && found && from.where != c.File {
		rd.Where = from.where + " (" + c.Key + ")"
	}
	return rd, ok, err
}

// judgeFile decides a file check from the file's content (exists false:
// the file is not there). It does no I/O, so every OS's checks are tested
// everywhere with recorded files.
func judgeFile(c policies.PostureCheck, data []byte, exists bool) (policies.PostureReading, bool, error) {
	reading := policies.PostureReading{Kind: c.Kind, Where: c.Where()}
	switch c.Format {
	case policies.FormatExists:
		reading.Detail = "present"
		return reading, exists, nil
	case policies.FormatDesktop:
		if !exists {
			return policies.PostureReading{}, false, nil
		}
		enabled, err := desktopEnabled(data)
		if err != nil || !enabled {
			return policies.PostureReading{}, false, err
		}
		reading.Detail = "starts at login"
		return reading, true, nil
	}
	if !exists {
		return judgeValue(c, "", false)
	}
	var value string
	var found bool
	var err error
	switch c.Format {
	case policies.FormatINI:
		value, found, err = iniLookup(data, c.Key)
	case policies.FormatJSON:
		value, found, err = jsonLookup(data, c.Key)
	case policies.FormatPlist:
		value, found, err = plistLookup(data, c.Key)
	default:
		return policies.PostureReading{}, false, fmt.Errorf("format %q is not read", c.Format)
	}
	if err != nil {
		return policies.PostureReading{}, false, err
	}
	return judgeValue(c, value, found)
}

// judgeValue decides a check from its setting: not there holds when the
// check is Absent, there holds whatever the value when it is Present (the
// value itself is not reported), a value holds when it is one of the
// check's Values.
func judgeValue(c policies.PostureCheck, value string, found bool) (policies.PostureReading, bool, error) {
	reading := policies.PostureReading{Kind: c.Kind, Where: c.Where()}
	if c.Present {
		if !found {
			return policies.PostureReading{}, false, nil
		}
		reading.Detail = "present"
		return reading, true, nil
	}
	if !found {
		if !c.Absent {
			return policies.PostureReading{}, false, nil
		}
		reading.Detail = "not set"
		return reading, true, nil
	}
	if v, ok := matchValue(value, c.Values); ok {
		reading.Detail = v
		return reading, true, nil
	}
	return policies.PostureReading{}, false, nil
}

// matchValue reports whether value is one of values, as text without
// regard to case or surrounding space, and returns the catalog's spelling
// (so a reading never carries more of the file than the catalog holds).
func matchValue(value string, values []string) (string, bool) {
	v := strings.TrimSpace(value)
	for _, want := range values {
		if strings.EqualFold(v, strings.TrimSpace(want)) {
			return want, true
		}
	}
	return "", false
}

// notExist: the file is not there, or a directory above it is a file.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (r *Reader) getenv(name string) string {
	if r.Getenv != nil {
		return r.Getenv(name)
	}
	return os.Getenv(name)
}

func (r *Reader) pollInterval() time.Duration {
	if r.PollInterval > 0 {
		return r.PollInterval
	}
	return 5 * time.Second
}
