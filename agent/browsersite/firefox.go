package browsersite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
// Both are read, bounded, into memory and decoded there by the read-only
// reader of sqlitefile.go, with the log's committed pages applied: a
// running Firefox is neither disturbed nor able to stop the read with its
// lock, and nothing is written anywhere. The database is the person's to
// write, so it is treated as hostile: moz_perms must be a table (not a
// view), its columns are found by name in its CREATE TABLE statement,
// rows are bounded and ctx interrupts the read.
func ReadFirefoxPermissions(ctx context.Context, db, wal io.Reader) ([]Grant, error) {
	if db == nil {
		return nil, errors.New("permissions.sqlite: no database given")
	}
	dbData, err := readBounded(db, maxFirefoxDBBytes)
	if err != nil {
		return nil, fmt.Errorf("permissions.sqlite: %w", err)
	}
	var walData []byte
	if wal != nil {
		if walData, err = readBounded(wal, maxFirefoxWALBytes); err != nil {
			return nil, fmt.Errorf("permissions.sqlite-wal: %w", err)
		}
	}
	grants, err := readFirefoxPermissions(ctx, dbData, walData)
	if err != nil {
		return nil, fmt.Errorf("permissions.sqlite: %w", err)
	}
	return grants, nil
}

// readBounded reads at most limit bytes of r.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d MiB, not read", limit>>20)
	}
	return data, nil
}

// firefoxColumns are the columns of moz_perms that are read, in the order
// firefoxGrant takes them.
var firefoxColumns = [...]string{"origin", "type", "permission", "expireType", "expireTime", "modificationTime"}

// readFirefoxPermissions does what the query
//
//	SELECT origin, type, permission, expireType, expireTime, modificationTime
//	FROM moz_perms WHERE type IN ('camera', 'microphone')
//
// did through SQLite, with its values converted as database/sql's Scan
// into sql.NullString and sql.NullInt64 converts them (NULL is "" or 0).
func readFirefoxPermissions(ctx context.Context, dbData, walData []byte) ([]Grant, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	d, err := openSQLite(dbData, walData)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	if d == nil {
		return nil, errors.New("no table moz_perms: not a Firefox permissions database")
	}
	kind, table, err := d.findTable(ctx, "moz_perms")
	switch {
	case err != nil && kind == "table":
		return nil, fmt.Errorf("query moz_perms: %w", err)
	case err != nil:
		return nil, fmt.Errorf("read schema: %w", err)
	case kind == "":
		return nil, errors.New("no table moz_perms: not a Firefox permissions database")
	case kind == "view" || kind == "index" || kind == "trigger":
		return nil, fmt.Errorf("moz_perms is a %s, not a table", kind)
	case kind != "table":
		return nil, errors.New("moz_perms is not a table") // the kind is the file's words, not repeated
	}
	var pos [len(firefoxColumns)]int
	for i, name := range firefoxColumns {
		pos[i] = -1
		for j, c := range table.columns {
			if strings.EqualFold(c.name, name) {
				pos[i] = j
				break
			}
		}
		if pos[i] < 0 {
			return nil, fmt.Errorf("query moz_perms: no column %s", name)
		}
	}
	maxPos := 0
	for _, p := range pos {
		maxPos = max(maxPos, p)
	}
	var grants []Grant
	n := 0
	err = d.walkTable(ctx, table.root, func(rowid int64, payload []byte) error {
		rec, err := decodeRecord(payload, d.encoding, maxPos+1)
		if err != nil {
			return err
		}
		var vals [len(firefoxColumns)]sqlValue
		for i, p := range pos {
			switch {
			case table.columns[p].rowid:
				vals[i] = sqlValue{kind: sqlInt, i: rowid}
			case p < len(rec):
				vals[i] = rec[p]
			}
			// A record shorter than the table (columns added later) has
			// NULL in the others; their DEFAULT is not evaluated.
		}
		if vals[1].kind != sqlText || (vals[1].s != "camera" && vals[1].s != "microphone") {
			return nil
		}
		n++
		if n > maxFirefoxRows {
			return errRowLimit
		}
		origin, ok1 := vals[0].asString()
		perm, ok2 := vals[2].asInt()
		expType, ok3 := vals[3].asInt()
		expTime, ok4 := vals[4].asInt()
		modTime, ok5 := vals[5].asInt()
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
			return errWrongType
		}
		if g, ok := firefoxGrant(origin, vals[1].s, perm, expType, expTime, modTime); ok {
			grants = append(grants, g)
		}
		return nil
	})
	switch {
	case errors.Is(err, errWrongType):
		return nil, fmt.Errorf("moz_perms row %d: a column holds a value of the wrong type", n)
	case errors.Is(err, errRowLimit):
		return nil, fmt.Errorf("moz_perms: more than %d camera and microphone rows, not read", maxFirefoxRows)
	case err != nil:
		return nil, fmt.Errorf("query moz_perms: %w", err)
	}
	sortGrants(grants)
	return grants, nil
}

// errRowLimit ends a walk at the row limit.
var errRowLimit = errors.New("row limit")

// errWrongType is a value that sql.NullString or sql.NullInt64 would not
// take.
var errWrongType = errors.New("a column holds a value of the wrong type")

// asString converts a value as database/sql's Scan into sql.NullString
// does: numbers in decimal, NULL as "".
func (v sqlValue) asString() (string, bool) {
	switch v.kind {
	case sqlInt:
		return strconv.FormatInt(v.i, 10), true
	case sqlFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64), true
	}
	return v.s, true
}

// asInt converts a value as database/sql's Scan into sql.NullInt64 does:
// text, blobs and floats only when their decimal form is an integer, NULL
// as 0.
func (v sqlValue) asInt() (int64, bool) {
	switch v.kind {
	case sqlNull:
		return 0, true
	case sqlInt:
		return v.i, true
	}
	s, _ := v.asString()
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
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
