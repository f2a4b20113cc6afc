package browsersite

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Firefox's permission values and expiry types (netwerk/base/
// nsIPermissionManager.idl: ALLOW_ACTION 1, DENY_ACTION 2, PROMPT_ACTION 3;
// EXPIRE_NEVER 0, EXPIRE_SESSION 1, EXPIRE_TIME 2, EXPIRE_POLICY 3).
const (
	firefoxAllow      = 1
	firefoxExpireTime = 2
)

// Bounds on what is read from a Firefox profile. permissions.sqlite holds
// one row per site and permission type and is a few hundred KiB even for a
// heavy user; its write-ahead log is at most a few MiB between checkpoints.
// The bounds keep a hostile or broken file from filling the agent's disk or
// memory.
const (
	maxFirefoxDBBytes  = 64 << 20
	maxFirefoxWALBytes = 64 << 20
	maxFirefoxRows     = 100_000
)

// ReadFirefoxPermissions returns the camera and microphone decisions in a
// Firefox permissions.sqlite (table moz_perms, types "camera" and
// "microphone"; schema as extensions/permissions/PermissionManager.cpp
// creates it and as Firefox 153 ESR wrote it here). db is the database
// file's content and wal its write-ahead log's, or nil when there is none.
//
// Both are copied, bounded, into a new private directory and opened there
// read-only: a running Firefox is neither disturbed nor able to stop the
// read with its lock, and nothing is written next to its files. The copy is
// removed before returning. The database is the person's to write, so it is
// treated as hostile: moz_perms must be a table (not a view), the schema is
// not trusted to call functions, rows are bounded and ctx interrupts the
// query.
func ReadFirefoxPermissions(ctx context.Context, db, wal io.Reader) ([]Grant, error) {
	if db == nil {
		return nil, errors.New("permissions.sqlite: no database given")
	}
	dir, err := os.MkdirTemp("", "vcguard-firefox-perms-")
	if err != nil {
		return nil, fmt.Errorf("permissions.sqlite: private copy: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "permissions.sqlite")
	if err := copyBounded(path, db, maxFirefoxDBBytes); err != nil {
		return nil, fmt.Errorf("permissions.sqlite: %w", err)
	}
	if wal != nil {
		if err := copyBounded(path+"-wal", wal, maxFirefoxWALBytes); err != nil {
			return nil, fmt.Errorf("permissions.sqlite-wal: %w", err)
		}
	}
	grants, err := queryFirefoxPermissions(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("permissions.sqlite: %w", err)
	}
	return grants, nil
}

// copyBounded writes at most limit bytes of r to a new file at path.
func copyBounded(path string, r io.Reader, limit int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("private copy: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("private copy: %w", err)
	}
	if n > limit {
		return fmt.Errorf("larger than %d MiB, not read", limit>>20)
	}
	return nil
}

func queryFirefoxPermissions(ctx context.Context, path string) ([]Grant, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	// The schema may not call functions that are not innocuous (a hostile
	// view or generated column), and nothing may be written.
	q.Add("_pragma", "trusted_schema(0)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	var kind string
	err = db.QueryRowContext(ctx, `SELECT type FROM sqlite_master WHERE name = 'moz_perms'`).Scan(&kind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errors.New("no table moz_perms: not a Firefox permissions database")
	case err != nil:
		return nil, fmt.Errorf("read schema: %w", err)
	case kind != "table":
		return nil, fmt.Errorf("moz_perms is a %s, not a table", kind)
	}
	rows, err := db.QueryContext(ctx, `SELECT origin, type, permission, expireType, expireTime, modificationTime
		FROM moz_perms WHERE type IN ('camera', 'microphone') LIMIT ?`, maxFirefoxRows+1)
	if err != nil {
		return nil, fmt.Errorf("query moz_perms: %w", err)
	}
	defer rows.Close()
	var grants []Grant
	n := 0
	for rows.Next() {
		n++
		if n > maxFirefoxRows {
			return nil, fmt.Errorf("moz_perms: more than %d camera and microphone rows, not read", maxFirefoxRows)
		}
		var (
			origin, typ                     sql.NullString
			perm, expType, expTime, modTime sql.NullInt64
		)
		if err := rows.Scan(&origin, &typ, &perm, &expType, &expTime, &modTime); err != nil {
			// Not wrapped: the scan error quotes the value.
			return nil, fmt.Errorf("moz_perms row %d: a column holds a value of the wrong type", n)
		}
		g, ok := firefoxGrant(origin.String, typ.String, perm.Int64, expType.Int64, expTime.Int64, modTime.Int64)
		if ok {
			grants = append(grants, g)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read moz_perms: %w", err)
	}
	sortGrants(grants)
	return grants, nil
}

// firefoxGrant makes a Grant of one moz_perms row. origin is a principal's
// origin, "https://meet.jit.si" or "https://example.org:8443", possibly
// with origin attributes after "^" (a container's "^userContextId=1"),
// which do not change the site. Times are milliseconds since 1970.
func firefoxGrant(origin, typ string, perm, expType, expTime, modTime int64) (Grant, bool) {
	origin, _, _ = strings.Cut(origin, "^")
	g, ok := parseOrigin(origin, false)
	if !ok {
		return Grant{}, false
	}
	g.Camera, g.Microphone = typ == "camera", typ == "microphone"
	g.Allowed = perm == firefoxAllow
	if modTime > 0 {
		g.Modified = time.UnixMilli(modTime).UTC()
	}
	if expType == firefoxExpireTime && expTime > 0 {
		g.Expires = time.UnixMilli(expTime).UTC()
	}
	return g, true
}

// FirefoxProfile is one [ProfileN] section of Firefox's profiles.ini.
type FirefoxProfile struct {
	// Path is the profile directory as written: relative to the directory
	// of profiles.ini with "/" separators ("Profiles/abcd1234.default"),
	// or absolute when IsRelative is false.
	Path       string
	IsRelative bool
}

// maxINIBytes bounds profiles.ini: a few hundred bytes per profile.
const maxINIBytes = 1 << 20

// ParseProfilesINI returns the profiles a Firefox profiles.ini lists
// (sections named Profile followed by a number, keys Path and IsRelative;
// toolkit/profile/nsToolkitProfileService.cpp), in file order. A relative
// path must stay below the profiles.ini directory.
func ParseProfilesINI(data []byte) ([]FirefoxProfile, error) {
	if len(data) > maxINIBytes {
		return nil, fmt.Errorf("profiles.ini: larger than %d KiB", maxINIBytes>>10)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	var (
		out     []FirefoxProfile
		cur     *FirefoxProfile
		curLine int
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		if cur.Path == "" {
			return fmt.Errorf("profiles.ini:%d: profile section has no Path", curLine)
		}
		if cur.IsRelative && !isRelativeBelow(cur.Path) {
			return fmt.Errorf("profiles.ini:%d: Path leaves the profiles directory", curLine)
		}
		out = append(out, *cur)
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxINIBytes)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == ';' || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			if !strings.HasSuffix(s, "]") {
				return nil, fmt.Errorf("profiles.ini:%d: section header without ]", line)
			}
			if err := flush(); err != nil {
				return nil, err
			}
			if isProfileSection(s[1 : len(s)-1]) {
				cur = &FirefoxProfile{IsRelative: true}
				curLine = line
			}
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("profiles.ini:%d: line is neither a section nor key=value", line)
		}
		if cur == nil {
			continue
		}
		switch strings.TrimSpace(key) {
		case "Path":
			cur.Path = strings.TrimSpace(value)
		case "IsRelative":
			cur.IsRelative = strings.TrimSpace(value) != "0"
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("profiles.ini:%d: %w", line+1, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// isProfileSection reports whether a section name is "Profile" and digits.
func isProfileSection(name string) bool {
	digits, ok := strings.CutPrefix(name, "Profile")
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isRelativeBelow reports whether a "/"-separated relative path stays below
// its base: not absolute, no "..", no drive or backslash tricks.
func isRelativeBelow(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\:\x00") {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return false
		}
	}
	return true
}
