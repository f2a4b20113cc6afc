package browsersite

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestReadFirefoxPermissionsRecorded reads the permissions.sqlite Firefox
// 153 ESR wrote in TestFirefoxRecordsGrants (see testdata/README.md).
func TestReadFirefoxPermissionsRecorded(t *testing.T) {
	t.Parallel()
	grants, err := ReadFirefoxPermissions(context.Background(), bytes.NewReader(readFixture(t, "firefox/permissions.sqlite")), nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	g := func(origin string, camera, allowed bool, mod int64) Grant {
		x, _ := parseOrigin(origin, false)
		x.Camera, x.Microphone, x.Allowed, x.Modified = camera, !camera, allowed, ms(mod)
		return x
	}
	whereby := g("https://whereby.com", true, true, 1796549375640)
	whereby.Expires = ms(1796635775640)
	want := []Grant{
		g("http://127.0.0.1:39851", true, true, 1796549375635),
		g("http://127.0.0.1:39851", false, false, 1796549375639),
		g("https://app.element.io", false, true, 1796549375640),
		g("https://meet.jit.si", true, true, 1796549375639),
		g("https://meet.jit.si", false, true, 1796549375639),
		whereby,
		g("https://www.example.org:8443", true, true, 1796549375640),
		g("https://zoom.us", true, false, 1796549375640),
	}
	if !reflect.DeepEqual(grants, want) {
		t.Errorf("grants:\n got %+v\nwant %+v", grants, want)
	}
	// Checked by hand: 1796549375635 ms is 2026-12-06 09:29:35.635 UTC.
	if got := grants[0].Modified; !got.Equal(time.Date(2026, 12, 6, 9, 29, 35, 635e6, time.UTC)) {
		t.Errorf("modified %v", got)
	}
}

// TestReadFirefoxPermissionsWAL reads a row that is only in the write-ahead
// log, as while Firefox has not checkpointed: the log is copied with the
// database and SQLite applies it to the private copy.
func TestReadFirefoxPermissionsWAL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "permissions.sqlite")
	if err := os.WriteFile(path, readFixture(t, "firefox/permissions.sqlite"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`PRAGMA journal_mode=WAL`,
		`PRAGMA wal_autocheckpoint=0`,
		`INSERT INTO moz_perms (origin, type, permission, expireType, expireTime, modificationTime) VALUES ('https://meet.google.com', 'camera', 1, 0, 0, 1796549999000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The connection stays open, so the log is not folded back.
	dbData, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	walData, err := os.ReadFile(path + "-wal")
	if err != nil || len(walData) == 0 {
		t.Fatalf("no write-ahead log: %v", err)
	}
	has := func(gs []Grant) bool {
		for _, g := range gs {
			if g.Origin == "https://meet.google.com" {
				return true
			}
		}
		return false
	}
	withWAL, err := ReadFirefoxPermissions(context.Background(), bytes.NewReader(dbData), bytes.NewReader(walData))
	if err != nil || !has(withWAL) || len(withWAL) != 9 {
		t.Errorf("with the log: %d grants, meet.google.com %v, %v; want 9 with it", len(withWAL), has(withWAL), err)
	}
	without, err := ReadFirefoxPermissions(context.Background(), bytes.NewReader(dbData), nil)
	if err != nil || has(without) {
		t.Errorf("without the log: meet.google.com %v, %v; want the database's 8 rows only", has(without), err)
	}
}

// sqliteFile builds a small SQLite database with the given statements.
func sqliteFile(t testing.TB, stmts ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.sqlite")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rootPage returns the first page of a table in a database image.
func rootPage(t *testing.T, image []byte, table string) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.sqlite")
	if err := os.WriteFile(path, image, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root int
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, table).Scan(&root); err != nil || root < 2 {
		t.Fatalf("root page of %s: %d, %v", table, root, err)
	}
	return root
}

const mozPermsTable = `CREATE TABLE moz_perms ( id INTEGER PRIMARY KEY,origin TEXT,type TEXT,permission INTEGER,expireType INTEGER,expireTime INTEGER,modificationTime INTEGER)`

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestReadFirefoxPermissionsMalformed: a broken or hostile database is a
// clear error, never a panic, a hang or a partial answer.
func TestReadFirefoxPermissionsMalformed(t *testing.T) {
	t.Parallel()
	real := readFixture(t, "firefox/permissions.sqlite")
	corruptHeader := bytes.Clone(real)
	copy(corruptHeader, "SQLite format 4\x00")
	// The page of moz_perms' rows, found through the schema; the page
	// size is in the header (offset 16, big-endian).
	pageSize := int(real[16])<<8 | int(real[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	root := rootPage(t, real, "moz_perms")
	corruptPage := bytes.Clone(real)
	for i := (root - 1) * pageSize; i < root*pageSize; i++ {
		corruptPage[i] = 0xa5
	}
	corruptRoot := bytes.Clone(real)
	for i := pageSize; i < 2*pageSize && i < len(corruptRoot); i++ {
		corruptRoot[i] = 0xff
	}
	tests := []struct {
		name    string
		db      io.Reader
		wal     io.Reader
		wantErr string
	}{
		{"empty file", bytes.NewReader(nil), nil, "no table moz_perms"},
		{"not a database", strings.NewReader(strings.Repeat("not sqlite at all ", 300)), nil, "permissions.sqlite: read schema"},
		{"truncated", bytes.NewReader(real[:100]), nil, "permissions.sqlite"},
		{"half the file", bytes.NewReader(real[:len(real)/2]), nil, "permissions.sqlite"},
		{"header magic", bytes.NewReader(corruptHeader), nil, "permissions.sqlite: read schema"},
		{"moz_perms page overwritten", bytes.NewReader(corruptPage), nil, "permissions.sqlite: query moz_perms: database disk image is malformed"},
		{"second page 0xff", bytes.NewReader(corruptRoot), nil, "permissions.sqlite"},
		{"garbage log", bytes.NewReader(real), strings.NewReader(strings.Repeat("x", 5000)), ""},
		{"other database", bytes.NewReader(sqliteFile(t, `CREATE TABLE moz_places (id INTEGER)`)), nil, "no table moz_perms: not a Firefox permissions database"},
		{"view", bytes.NewReader(sqliteFile(t,
			`CREATE VIEW moz_perms AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'https://a.example' AS origin, 'camera' AS type, 1 AS permission, 0 AS expireType, 0 AS expireTime, x AS modificationTime FROM c`)),
			nil, "moz_perms is a view, not a table"},
		{"text time", bytes.NewReader(sqliteFile(t, mozPermsTable,
			`INSERT INTO moz_perms VALUES (1, 'https://a.example', 'camera', 1, 0, 0, 'yesterday')`)), nil, "permissions.sqlite: moz_perms row 1: a column holds a value of the wrong type"},
		{"missing column", bytes.NewReader(sqliteFile(t, `CREATE TABLE moz_perms (id INTEGER PRIMARY KEY, origin TEXT, type TEXT)`)), nil, "query moz_perms"},
		{"too large", io.LimitReader(zeros{}, maxFirefoxDBBytes+1), nil, "permissions.sqlite: larger than 64 MiB"},
		{"log too large", bytes.NewReader(real), io.LimitReader(zeros{}, maxFirefoxWALBytes+1), "permissions.sqlite-wal: larger than 64 MiB"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		grants, err := ReadFirefoxPermissions(ctx, tt.db, tt.wal)
		cancel()
		t.Logf("%s: %v", tt.name, err)
		if tt.wantErr == "" {
			if err != nil || len(grants) != 8 {
				t.Errorf("%s: %d grants, %v; want the 8 of the database", tt.name, len(grants), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %d grants, err = %v; want an error containing %q", tt.name, len(grants), err, tt.wantErr)
		}
		if grants != nil {
			t.Errorf("%s: grants %+v with the error", tt.name, grants)
		}
	}
}

func TestReadFirefoxPermissionsRows(t *testing.T) {
	t.Parallel()
	data := sqliteFile(t, mozPermsTable,
		`INSERT INTO moz_perms VALUES (1, 'https://app.element.io^userContextId=2', 'microphone', 1, 0, 0, 1000)`,
		`INSERT INTO moz_perms VALUES (2, 'https://meet.jit.si', 'camera', 3, 0, 0, 1000)`,        // prompt: not allowed
		`INSERT INTO moz_perms VALUES (3, 'https://expired.example', 'camera', 1, 2, 5000, 1000)`, // expires at 5 s
		`INSERT INTO moz_perms VALUES (4, NULL, 'camera', 1, 0, 0, NULL)`,                         // no origin: left out
		`INSERT INTO moz_perms VALUES (5, 'moz-extension://abc', 'camera', 1, 0, 0, 0)`,
		`INSERT INTO moz_perms VALUES (6, 'https://meet.jit.si', 'geo', 1, 0, 0, 0)`, // not camera or microphone
		`INSERT INTO moz_perms VALUES (7, 'https://MEET.jit.si:443', 'camera', 1, 1, 0, 0)`,
	)
	grants, err := ReadFirefoxPermissions(context.Background(), bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Origin          string
		Camera, Allowed bool
		Expires         int64
	}
	var got []row
	for _, g := range grants {
		var exp int64
		if !g.Expires.IsZero() {
			exp = g.Expires.UnixMilli()
		}
		got = append(got, row{g.Origin, g.Camera, g.Allowed, exp})
	}
	want := []row{
		{"https://app.element.io", false, true, 0},
		{"https://expired.example", true, true, 5000},
		{"https://meet.jit.si", true, false, 0},
		{"https://meet.jit.si", true, true, 0},
		{"moz-extension://abc", true, true, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestReadFirefoxPermissionsRowLimit(t *testing.T) {
	t.Parallel()
	data := sqliteFile(t, mozPermsTable,
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100001)
		 INSERT INTO moz_perms SELECT x, 'https://h' || x || '.example', 'camera', 1, 0, 0, 0 FROM c`)
	_, err := ReadFirefoxPermissions(context.Background(), bytes.NewReader(data), nil)
	if err == nil || !strings.Contains(err.Error(), "more than 100000 camera and microphone rows") {
		t.Errorf("err = %v, want the row limit", err)
	}
}

func TestReadFirefoxPermissionsCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadFirefoxPermissions(ctx, bytes.NewReader(readFixture(t, "firefox/permissions.sqlite")), nil)
	if err == nil {
		t.Error("a cancelled context read the database")
	}
}

// TestReadFirefoxPermissionsMutated feeds the recorded database with a few
// random bytes changed, from a fixed seed: every result is an error or
// well-formed grants, and no read outlives its context by much (a hang
// would leave the agent's reader stuck). It complements
// FuzzReadFirefoxPermissions and FuzzSQLiteFile. Those seemed to stall
// under go test -fuzz after a few hundred executions ("0/sec" for up to a
// minute): that is the fuzzing engine minimizing each new interesting
// input (its default -fuzzminimizetime is 60s, and these inputs are whole
// database files), not a read that hangs. A worker stopped with SIGQUIT in
// such a stall was minimizing; the input it held reads in milliseconds.
// Fuzz them with -fuzzminimizetime 2s to keep executing.
func TestReadFirefoxPermissionsMutated(t *testing.T) {
	t.Parallel()
	real := readFixture(t, "firefox/permissions.sqlite")
	r := rand.New(rand.NewPCG(1, 2))
	failed := 0
	for i := range 300 {
		d := bytes.Clone(real)
		for range 1 + r.IntN(8) {
			d[r.IntN(len(d))] = byte(r.IntN(256))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		type result struct {
			grants []Grant
			err    error
		}
		done := make(chan result, 1)
		go func() {
			g, err := ReadFirefoxPermissions(ctx, bytes.NewReader(d), nil)
			done <- result{g, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(time.Minute):
			t.Fatalf("mutation %d: the read did not stop with its context", i)
		}
		cancel()
		if res.err != nil {
			failed++
			continue
		}
		for _, g := range res.grants {
			if g.Host == "" || g.Camera == g.Microphone {
				t.Fatalf("mutation %d: malformed grant %+v", i, g)
			}
		}
	}
	t.Logf("%d of 300 mutated databases were refused with an error", failed)
}

func FuzzReadFirefoxPermissions(f *testing.F) {
	real := readFixture(f, "firefox/permissions.sqlite")
	f.Add(real)
	f.Add(real[:4096])
	f.Add(sqliteFile(f, mozPermsTable, `INSERT INTO moz_perms VALUES (1, 'https://a.example', 'camera', 1, 2, 5, 6)`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		grants, err := ReadFirefoxPermissions(ctx, bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		for _, g := range grants {
			if g.Host == "" || g.Camera == g.Microphone {
				t.Fatalf("malformed grant %+v", g)
			}
		}
	})
}

func TestParseProfilesINI(t *testing.T) {
	t.Parallel()
	got, err := ParseProfilesINI(readFixture(t, "firefox/profiles.ini"))
	if want := []FirefoxProfile{{"b9cjryub.vcguard", true}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("recorded profiles.ini: %+v, %v; want %+v", got, err, want)
	}
	tests := []struct {
		name    string
		in      string
		want    []FirefoxProfile
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"install sections and several profiles, CRLF, BOM",
			"\xef\xbb\xbf[Install4F96D1932A9F858E]\r\nDefault=Profiles/abcd.default-release\r\nLocked=1\r\n\r\n" +
				"[Profile1]\r\nName=default\r\nIsRelative=1\r\nPath=Profiles/wxyz.default\r\nDefault=1\r\n\r\n" +
				"[Profile0]\r\nName=default-release\r\nIsRelative=1\r\nPath=Profiles/abcd.default-release\r\n\r\n" +
				"[General]\r\nStartWithLastProfile=1\r\nVersion=2\r\n",
			[]FirefoxProfile{{"Profiles/wxyz.default", true}, {"Profiles/abcd.default-release", true}}, ""},
		{"absolute", "[Profile0]\nIsRelative=0\nPath=/home/someone/ff\n", []FirefoxProfile{{"/home/someone/ff", false}}, ""},
		{"Windows absolute", "[Profile0]\nIsRelative=0\nPath=D:\\Firefox\\p\n", []FirefoxProfile{{"D:\\Firefox\\p", false}}, ""},
		{"comments and spaces", "; c\n# c\n[Profile0]\n  Path = a.b \n", []FirefoxProfile{{"a.b", true}}, ""},
		{"other sections ignored", "[ProfileX]\nPath=../x\n[Profiles0]\nPath=../y\n", nil, ""},
		{"dot-dot", "[Profile0]\nIsRelative=1\nPath=../../etc\n", nil, "profiles.ini:1: Path leaves the profiles directory"},
		{"absolute but relative", "[Profile0]\nPath=/etc\n", nil, "leaves the profiles directory"},
		{"backslash relative", "[Profile0]\nPath=Profiles\\..\\..\\x\n", nil, "leaves the profiles directory"},
		{"drive relative", "[Profile0]\nPath=C:x\n", nil, "leaves the profiles directory"},
		{"no path", "[General]\nVersion=2\n\n[Profile3]\nName=x\n", nil, "profiles.ini:4: profile section has no Path"},
		{"broken header", "[Profile0\nPath=x\n", nil, "profiles.ini:1: section header without ]"},
		{"not key=value", "[Profile0]\nPath=x\nhello\n", nil, "profiles.ini:3: line is neither"},
		{"too large", strings.Repeat("#", maxINIBytes+1), nil, "profiles.ini: larger than 1024 KiB"},
	}
	for _, tt := range tests {
		got, err := ParseProfilesINI([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func FuzzParseProfilesINI(f *testing.F) {
	f.Add(readFixture(f, "firefox/profiles.ini"))
	f.Add([]byte("[Install1]\nDefault=x\n[Profile0]\nIsRelative=0\nPath=/a\n[Profile1]\nPath=b/c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseProfilesINI(data)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.Path == "" || (p.IsRelative && !isRelativeBelow(p.Path)) {
				t.Fatalf("unsafe profile %+v", p)
			}
		}
	})
}
