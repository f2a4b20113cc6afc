package store

// This file holds the bounded reads behind the admin surfaces (JSON API,
// dashboard): every list is a page with a row cap and a keyset
// cursor, device lists carry counts instead of every app and media row, and
// the overview's numbers are counted in SQL. Nothing here loads an unbounded
// number of rows.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Page sizes of the device list.
const (
	// DefaultDeviceLimit is the page size when none is asked for.
	DefaultDeviceLimit = 100
	// MaxDeviceLimit is the largest device page.
	MaxDeviceLimit = 1000
	// MaxRunningSummary is how many distinct running apps a device summary
	// names (worst verdict first); RunningApps counts them all.
	MaxRunningSummary = 10
)

// ErrBadCursor is returned for a cursor this server did not hand out (or
// for another list).
var ErrBadCursor = errors.New("invalid cursor")

// maxCursorLen bounds a cursor string before it is decoded.
const maxCursorLen = 1024

// encodeCursor makes an opaque cursor of kind (e.g. "d" for devices) and
// key: URL-safe base64 of a JSON array.
func encodeCursor(kind string, key ...any) string {
	b, err := json.Marshal(append([]any{kind}, key...))
	if err != nil {
		panic(fmt.Sprintf("encode cursor: %v", err)) // keys are strings and numbers
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of kind into the pointers in key.
func decodeCursor(s, kind string, key ...any) error {
	if len(s) > maxCursorLen {
		return fmt.Errorf("%w: longer than %d characters", ErrBadCursor, maxCursorLen)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: not a cursor this server handed out", ErrBadCursor)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != len(key)+1 {
		return fmt.Errorf("%w: not a cursor this server handed out", ErrBadCursor)
	}
	var k string
	if err := json.Unmarshal(raw[0], &k); err != nil || k != kind {
		return fmt.Errorf("%w: a cursor of another list", ErrBadCursor)
	}
	for i, p := range key {
		if err := json.Unmarshal(raw[i+1], p); err != nil {
			return fmt.Errorf("%w: not a cursor this server handed out", ErrBadCursor)
		}
	}
	return nil
}

// DeviceKey is a position in the device list, which is ordered by
// (hostname, id), or by Sort's column and then (hostname, id).
type DeviceKey struct {
	Hostname, ID string
	// Sort is the order the key belongs to ("" for hostname, as
	// DeviceSort.String); Str or Num is the row's value of its column.
	Sort string
	Str  string
	Num  int64
}

// String is the key as an opaque cursor.
func (k DeviceKey) String() string {
	if k.Sort == "" {
		return encodeCursor("d", k.Hostname, k.ID)
	}
	return encodeCursor("ds", k.Sort, k.Str, k.Num, k.Hostname, k.ID)
}

// ParseDeviceKey reads a cursor made by DeviceKey.String.
func ParseDeviceKey(s string) (DeviceKey, error) {
	var k DeviceKey
	err := decodeCursor(s, "d", &k.Hostname, &k.ID)
	if err != nil {
		if err2 := decodeCursor(s, "ds", &k.Sort, &k.Str, &k.Num, &k.Hostname, &k.ID); err2 == nil {
			if _, err3 := ParseDeviceSort(k.Sort); err3 != nil || k.Sort == "" {
				return DeviceKey{}, fmt.Errorf("%w: not a cursor this server handed out", ErrBadCursor)
			}
			return k, nil
		}
	}
	return k, err
}

// DeviceQuery selects a page of devices; zero fields match everything.
type DeviceQuery struct {
	// Q matches part of the hostname or id, ignoring case.
	Q     string
	OS    string
	Group string
	// Verdict selects devices running an app with this verdict; App
	// devices running this app (with Verdict, an instance of App with
	// that verdict).
	Verdict string
	App     string
	// Status is "online", "offline", "stale" or "" (any); it needs Now and
	// StaleAfter.
	Status     string
	Now        time.Time
	StaleAfter time.Duration
	// SeenSince selects devices last heard from at or after it;
	// SeenBefore those last heard from before it (zero: no bound).
	SeenSince, SeenBefore time.Time
	// Sort orders the list; the zero value is by hostname.
	Sort DeviceSort
	// After starts the page after this key; Before ends it before this
	// key (a previous page). At most one is set.
	After, Before *DeviceKey
	// Limit is the page size: 0 means DefaultDeviceLimit, at most
	// MaxDeviceLimit.
	Limit int
}

// RunningApp is one catalog app running on a device, in a device summary.
type RunningApp struct {
	AppID, Name string
	// Verdict is the worst verdict of its running instances.
	Verdict string
	// Instances is how many of its processes run.
	Instances int
}

// DeviceSummary is a device as lists show it: its record and counts, not
// its app and media rows.
type DeviceSummary struct {
	Device
	// RunningApps counts running app instances; MediaInUse the cameras and
	// microphones in use.
	RunningApps, MediaInUse int
	// WorstVerdict is the worst verdict of a running app ("" for none),
	// in the order forbidden, unverified, outdated, unlisted, restricted,
	// approved.
	WorstVerdict string
	// Running names at most MaxRunningSummary distinct running apps,
	// worst verdict first.
	Running []RunningApp
}

// DevicePage is one page of devices.
type DevicePage struct {
	Devices []DeviceSummary
	// Next is the key to pass as After for the following page, nil at the
	// end; Prev the key to pass as Before for the previous page, nil at
	// the start.
	Next, Prev *DeviceKey
}

// verdictRank orders verdicts from harmless (1) to worst (6) in SQL.
const verdictRank = `CASE verdict WHEN 'forbidden' THEN 6 WHEN 'unverified' THEN 5 WHEN 'outdated' THEN 4
	WHEN 'unlisted' THEN 3 WHEN 'restricted' THEN 2 WHEN 'approved' THEN 1 ELSE 0 END`

var rankVerdicts = []string{"", "approved", "restricted", "unlisted", "outdated", "unverified", "forbidden"}

func verdictOfRank(r int) string {
	if r < 0 || r >= len(rankVerdicts) {
		return ""
	}
	return rankVerdicts[r]
}

// flaggedVerdicts make a device non-compliant when a running app has one.
const flaggedVerdicts = `('forbidden', 'unverified', 'outdated')`

// likePattern makes a LIKE pattern matching s anywhere, with its own
// wildcards escaped (ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// where collects SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose %d verbs are all the next argument's
// placeholder number.
func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	n := len(w.args)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "%d", fmt.Sprint(n)))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func (q DeviceQuery) filter() (where, error) {
	var w where
	if q.Q != "" {
		w.add(`(LOWER(hostname) LIKE $%d ESCAPE '\' OR LOWER(id) LIKE $%d ESCAPE '\')`, likePattern(q.Q))
	}
	if q.OS != "" {
		w.add(`os = $%d`, q.OS)
	}
	if q.Group != "" {
		w.add(`device_group = $%d`, q.Group)
	}
	switch {
	case q.App != "" && q.Verdict != "":
		w.args = append(w.args, q.App, q.Verdict)
		n := len(w.args)
		w.conds = append(w.conds, fmt.Sprintf(`EXISTS (SELECT 1 FROM device_apps a WHERE a.device_id = devices.id AND a.running = 1 AND a.app_id = $%d AND a.verdict = $%d)`, n-1, n))
	case q.App != "":
		w.add(`EXISTS (SELECT 1 FROM device_apps a WHERE a.device_id = devices.id AND a.running = 1 AND a.app_id = $%d)`, q.App)
	case q.Verdict != "":
		w.add(`EXISTS (SELECT 1 FROM device_apps a WHERE a.device_id = devices.id AND a.running = 1 AND a.verdict = $%d)`, q.Verdict)
	}
	if !q.SeenSince.IsZero() {
		w.add(`last_seen >= $%d`, micros(q.SeenSince))
	}
	if !q.SeenBefore.IsZero() {
		w.add(`last_seen < $%d`, micros(q.SeenBefore))
	}
	if q.Status != "" {
		if q.StaleAfter <= 0 || q.Now.IsZero() {
			return w, errors.New("device status filter without a time and stale duration")
		}
		cut := micros(q.Now.Add(-q.StaleAfter))
		switch q.Status {
		case "online":
			w.add(`(connected = 1 AND last_seen > $%d)`, cut)
		case "offline":
			w.add(`NOT (connected = 1 AND last_seen > $%d)`, cut)
		case "stale":
			w.add(`last_seen <= $%d`, cut)
		default:
			return w, fmt.Errorf("device status %q: want online, offline or stale", q.Status)
		}
	}
	return w, nil
}

// ListDevices returns one page of devices ordered by q.Sort (by default
// (hostname, id)), with counts of their running apps and media in use.
func (s *Store) ListDevices(ctx context.Context, q DeviceQuery) (DevicePage, error) {
	var page DevicePage
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultDeviceLimit
	}
	limit = min(limit, MaxDeviceLimit)
	w, err := q.filter()
	if err != nil {
		return page, fmt.Errorf("list devices: %w", err)
	}
	base := w
	sortKey := q.Sort.String()
	for _, k := range []*DeviceKey{q.Before, q.After} {
		if k != nil && k.Sort != sortKey {
			return page, fmt.Errorf("list devices: %w: a cursor of another sort order", ErrBadCursor)
		}
	}
	cols := q.Sort.columns()
	dir := func(desc bool) string {
		if desc {
			return " DESC"
		}
		return ""
	}
	backward := q.Before != nil
	switch {
	case backward:
		w.keyset(cols, !q.Sort.Desc, *q.Before)
	case q.After != nil:
		w.keyset(cols, q.Sort.Desc, *q.After)
	}
	var order []string
	for _, c := range cols {
		order = append(order, c+dir(q.Sort.Desc != backward))
	}
	args := append(w.args, limit+1)
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+`, `+q.Sort.expr()+` FROM devices`+w.sql()+` ORDER BY `+strings.Join(order, ", ")+fmt.Sprintf(` LIMIT $%d`, len(args)), args...)
	if err != nil {
		return page, fmt.Errorf("list devices: %w", err)
	}
	var devs []DeviceSummary
	var keys []DeviceKey
	for rows.Next() {
		k := DeviceKey{Sort: sortKey}
		var sv any = &k.Str
		if q.Sort.numeric() {
			sv = &k.Num
		}
		d, err := scanDevice(scanPlus{rows, sv})
		if err != nil {
			rows.Close()
			return page, fmt.Errorf("list devices: %w", err)
		}
		k.Hostname, k.ID = d.Hostname, d.ID
		devs = append(devs, DeviceSummary{Device: d})
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list devices: %w", err)
	}
	more := len(devs) > limit
	if more {
		devs, keys = devs[:limit], keys[:limit]
	}
	if backward {
		slices.Reverse(devs)
		slices.Reverse(keys)
	}
	if len(devs) > 0 {
		first, last := keys[0], keys[len(keys)-1]
		if backward {
			if more {
				page.Prev = &first
			}
			// The page ends before q.Before, so that key and what
			// follows it are next.
			page.Next = &last
		} else {
			if more {
				page.Next = &last
			}
			if q.After != nil {
				exists, err := s.anyDevice(ctx, base, cols, !q.Sort.Desc, first)
				if err != nil {
					return page, err
				}
				if exists {
					page.Prev = &first
				}
			}
		}
	}
	if err := s.summarise(ctx, devs); err != nil {
		return page, err
	}
	page.Devices = devs
	return page, nil
}

// scanPlus scans a device row followed by one more column.
type scanPlus struct {
	rows interface{ Scan(...any) error }
	last any
}

func (s scanPlus) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.last)...) }

// keyset adds the condition "after k" in the order of cols (ascending,
// or descending when desc).
func (w *where) keyset(cols []string, desc bool, k DeviceKey) {
	op := ">"
	if desc {
		op = "<"
	}
	var v any = k.Str
	if srt, _ := ParseDeviceSort(k.Sort); srt.numeric() {
		v = k.Num
	}
	if len(cols) == 2 {
		w.args = append(w.args, k.Hostname, k.ID)
		n := len(w.args)
		w.conds = append(w.conds, fmt.Sprintf(`(hostname, id) %s ($%d, $%d)`, op, n-1, n))
		return
	}
	w.args = append(w.args, v, k.Hostname, k.ID)
	n := len(w.args)
	w.conds = append(w.conds, fmt.Sprintf(`(%s) %s ($%d, $%d, $%d)`, strings.Join(cols, ", "), op, n-2, n-1, n))
}

// anyDevice reports whether a device matches w and comes before k in
// the order of cols (descending when desc).
func (s *Store) anyDevice(ctx context.Context, w where, cols []string, desc bool, k DeviceKey) (bool, error) {
	w.keyset(cols, desc, k)
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM devices`+w.sql()+` LIMIT 1) x`, w.args...).Scan(&one)
	if err != nil {
		return false, fmt.Errorf("list devices: %w", err)
	}
	return one > 0, nil
}

// summarise fills the counts and running apps of a page of devices.
func (s *Store) summarise(ctx context.Context, devs []DeviceSummary) error {
	if len(devs) == 0 {
		return nil
	}
	index := make(map[string]int, len(devs))
	ids := make([]any, len(devs))
	marks := make([]string, len(devs))
	for i, d := range devs {
		index[d.ID] = i
		ids[i] = d.ID
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	in := `(` + strings.Join(marks, ", ") + `)`
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, app_id, MAX(name), MAX(`+verdictRank+`), COUNT(*),
		ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY MAX(`+verdictRank+`) DESC, app_id)
		FROM device_apps WHERE running = 1 AND device_id IN `+in+` GROUP BY device_id, app_id`, ids...)
	if err != nil {
		return fmt.Errorf("summarise devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dev string
		var a RunningApp
		var rank, n int
		if err := rows.Scan(&dev, &a.AppID, &a.Name, &rank, &a.Instances, &n); err != nil {
			return fmt.Errorf("summarise devices: %w", err)
		}
		a.Verdict = verdictOfRank(rank)
		d := &devs[index[dev]]
		d.RunningApps += a.Instances
		if n == 1 {
			d.WorstVerdict = a.Verdict
		}
		if n <= MaxRunningSummary {
			d.Running = append(d.Running, a)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("summarise devices: %w", err)
	}
	rows.Close()
	mrows, err := s.db.QueryContext(ctx, `SELECT device_id, COUNT(*) FROM device_media WHERE device_id IN `+in+` GROUP BY device_id`, ids...)
	if err != nil {
		return fmt.Errorf("summarise devices: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var dev string
		var n int
		if err := mrows.Scan(&dev, &n); err != nil {
			return fmt.Errorf("summarise devices: %w", err)
		}
		devs[index[dev]].MediaInUse = n
	}
	return mrows.Err()
}

// FleetCounts are the fleet's headline numbers, counted in SQL.
type FleetCounts struct {
	Total, Online, Stale int
	// Compliant online devices run no app with a forbidden, unverified or
	// outdated verdict.
	Compliant int
}

// CountFleet counts devices: online (connected and heard from within
// staleAfter of now), stale (not heard from within it) and compliant.
func (s *Store) CountFleet(ctx context.Context, now time.Time, staleAfter time.Duration) (FleetCounts, error) {
	var c FleetCounts
	cut := micros(now.Add(-staleAfter))
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN connected = 1 AND last_seen > $1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN last_seen <= $1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN connected = 1 AND last_seen > $1 AND NOT EXISTS (SELECT 1 FROM device_apps a
			WHERE a.device_id = devices.id AND a.running = 1 AND a.verdict IN `+flaggedVerdicts+`) THEN 1 ELSE 0 END), 0)
		FROM devices`, cut).Scan(&c.Total, &c.Online, &c.Stale, &c.Compliant)
	if err != nil {
		return c, fmt.Errorf("count devices: %w", err)
	}
	return c, nil
}

// DeviceFacets are the values the device filter offers.
type DeviceFacets struct {
	OSes, Groups []string
}

// maxFacets bounds each list of filter values.
const maxFacets = 200

// Facets lists the distinct operating systems and groups of the fleet (at
// most 200 of each).
func (s *Store) Facets(ctx context.Context) (DeviceFacets, error) {
	var f DeviceFacets
	for _, c := range []struct {
		col string
		out *[]string
	}{{"os", &f.OSes}, {"device_group", &f.Groups}} {
		rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT `+c.col+` FROM devices WHERE `+c.col+` <> '' ORDER BY `+c.col+` LIMIT $1`, maxFacets)
		if err != nil {
			return f, fmt.Errorf("list device %s values: %w", c.col, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return f, fmt.Errorf("list device %s values: %w", c.col, err)
			}
			*c.out = append(*c.out, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return f, fmt.Errorf("list device %s values: %w", c.col, err)
		}
	}
	return f, nil
}

// MediaUse is a camera or microphone in use, with its device and the
// verdict of the app using it.
type MediaUse struct {
	DeviceID, Hostname string
	DeviceMedia
	// Verdict is the running app's worst verdict: "" when AppID names no
	// running app (or is "", a process of no catalog app).
	Verdict string
}

// UnapprovedMedia lists at most limit cameras and microphones in use now
// by a process that is not an approved or restricted app, newest first.
func (s *Store) UnapprovedMedia(ctx context.Context, limit int) ([]MediaUse, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT device_id, hostname, kind, source, device, pid, process, app_id, category, session, since, rank FROM (
		SELECT m.device_id, d.hostname, m.kind, m.source, m.device, m.pid, m.process, m.app_id, m.category, m.session, m.since,
			COALESCE((SELECT MAX(`+verdictRank+`) FROM device_apps a WHERE a.device_id = m.device_id AND a.app_id = m.app_id AND a.running = 1), 0) AS rank
		FROM device_media m JOIN devices d ON d.id = m.device_id) x
		WHERE app_id = '' OR rank NOT IN (1, 2) ORDER BY since DESC, device_id, kind, pid LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list media in use: %w", err)
	}
	defer rows.Close()
	var out []MediaUse
	for rows.Next() {
		var u MediaUse
		var since int64
		var rank int
		if err := rows.Scan(&u.DeviceID, &u.Hostname, &u.Kind, &u.Source, &u.Device, &u.PID, &u.Process, &u.AppID, &u.Category,
			&u.Session, &since, &rank); err != nil {
			return nil, fmt.Errorf("list media in use: %w", err)
		}
		u.Since, u.Verdict = fromMicros(since), verdictOfRank(rank)
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountDevices counts the devices q's filter selects (its page fields are
// ignored).
func (s *Store) CountDevices(ctx context.Context, q DeviceQuery) (int, error) {
	w, err := q.filter()
	if err != nil {
		return 0, fmt.Errorf("count devices: %w", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices`+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count devices: %w", err)
	}
	return n, nil
}
