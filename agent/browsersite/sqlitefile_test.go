package browsersite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// modernDB is a database written by modernc.org/sqlite: the file and, when
// it was read with the connection still open in WAL mode, the log.
type modernDB struct {
	file, wal []byte
}

// buildModern runs stmts on a new database and returns its files. With
// keepWAL the files are read while the connection is open, so that the
// write-ahead log is not yet folded back into the file.
func buildModern(t *testing.T, keepWAL bool, stmts ...string) modernDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.sqlite")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	if !keepWAL {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var m modernDB
	if m.file, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if keepWAL {
		if m.wal, err = os.ReadFile(path + "-wal"); err != nil || len(m.wal) == 0 {
			t.Fatalf("no write-ahead log: %v", err)
		}
	}
	return m
}

// modernRows returns what SQLite itself reads, through modernc: the rows
// of moz_perms' six columns (NULL as "<NULL>", other values as
// sql.NullString scans them) in rowid order, and the grants of the query
// ReadFirefoxPermissions made before it had its own reader.
func modernRows(t *testing.T, file, wal []byte) (rows [][]string, grants []Grant, err error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ref.sqlite")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	if wal != nil {
		if err := os.WriteFile(path+"-wal", wal, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "trusted_schema(0)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var kind string
	if err := db.QueryRow(`SELECT type FROM sqlite_master WHERE name = 'moz_perms'`).Scan(&kind); err != nil {
		return nil, nil, err
	}
	if kind != "table" {
		return nil, nil, fmt.Errorf("moz_perms is a %s", kind)
	}
	r, err := db.Query(`SELECT origin, type, permission, expireType, expireTime, modificationTime FROM moz_perms ORDER BY rowid`)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for r.Next() {
		var v [6]sql.NullString
		if err := r.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
			return nil, nil, err
		}
		row := make([]string, 6)
		for i := range v {
			row[i] = v[i].String
			if !v[i].Valid {
				row[i] = "<NULL>"
			}
		}
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		return nil, nil, err
	}
	g, err := db.Query(`SELECT origin, type, permission, expireType, expireTime, modificationTime
		FROM moz_perms WHERE type IN ('camera', 'microphone')`)
	if err != nil {
		return nil, nil, err
	}
	defer g.Close()
	for g.Next() {
		var (
			origin, typ                     sql.NullString
			perm, expType, expTime, modTime sql.NullInt64
		)
		if err := g.Scan(&origin, &typ, &perm, &expType, &expTime, &modTime); err != nil {
			return nil, nil, err
		}
		if x, ok := firefoxGrant(origin.String, typ.String, perm.Int64, expType.Int64, expTime.Int64, modTime.Int64); ok {
			grants = append(grants, x)
		}
	}
	sortGrants(grants)
	return rows, grants, g.Err()
}

// ownRows reads the same rows as modernRows with the hand-written reader.
func ownRows(file, wal []byte) ([][]string, error) {
	d, err := openSQLite(file, wal)
	if err != nil || d == nil {
		return nil, fmt.Errorf("open: %v", err)
	}
	kind, table, err := d.findTable(context.Background(), "moz_perms")
	if err != nil || kind != "table" {
		return nil, fmt.Errorf("moz_perms: %q, %v", kind, err)
	}
	var pos []int
	for _, name := range firefoxColumns {
		for j, c := range table.columns {
			if strings.EqualFold(c.name, name) {
				pos = append(pos, j)
				break
			}
		}
	}
	if len(pos) != len(firefoxColumns) {
		return nil, fmt.Errorf("columns %+v", table.columns)
	}
	var rows [][]string
	err = d.walkTable(context.Background(), table.root, func(rowid int64, payload []byte) error {
		rec, err := decodeRecord(payload, d.encoding, len(table.columns))
		if err != nil {
			return err
		}
		row := make([]string, len(pos))
		for i, p := range pos {
			v := sqlValue{}
			switch {
			case table.columns[p].rowid:
				v = sqlValue{kind: sqlInt, i: rowid}
			case p < len(rec):
				v = rec[p]
			}
			row[i], _ = v.asString()
			if v.kind == sqlNull {
				row[i] = "<NULL>"
			}
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}

// longText is a SQL expression for a text of n ASCII characters.
func longText(prefix string, n int) string {
	return fmt.Sprintf(`'%s' || substr(replace(hex(zeroblob(%d)), '00', 'ab'), 1, %d)`, prefix, n, n)
}

// permsRows fills moz_perms (Firefox's schema) with n rows of every kind
// of value its columns hold: both permission types and others, integers of
// every serial-type width, NULLs, long origins that overflow the page.
func permsRows(n int) string {
	return fmt.Sprintf(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT %d)
		INSERT INTO moz_perms (id, origin, type, permission, expireType, expireTime, modificationTime)
		SELECT x * 7,
			CASE x %% 5 WHEN 0 THEN 'https://h' || x || '.example' WHEN 1 THEN 'https://long' || x || '.example/' || substr(replace(hex(zeroblob(x * 11)), '00', 'ab'), 1, x * 23)
				WHEN 2 THEN 'https://sub.h' || x || '.example:8443^userContextId=' || x WHEN 3 THEN NULL ELSE 'http://127.0.0.1:' || (x %% 65535) END,
			CASE x %% 3 WHEN 0 THEN 'camera' WHEN 1 THEN 'microphone' ELSE 'geo' END,
			x %% 4,
			x %% 3,
			CASE x %% 6 WHEN 0 THEN 0 WHEN 1 THEN 1 WHEN 2 THEN -x * 1000 WHEN 3 THEN x * 100000 WHEN 4 THEN x * 10000000000 ELSE NULL END,
			1796549375640 + x * 123456789
		FROM c`, n)
}

// TestSQLiteFileMatchesModernc checks the hand-written reader against
// SQLite itself (modernc.org/sqlite) on databases SQLite wrote: every page
// size, both UTF-16 encodings, overflow pages, trees of several levels,
// reordered and untyped columns, and write-ahead logs.
func TestSQLiteFileMatchesModernc(t *testing.T) {
	t.Parallel()
	type tc struct {
		name string
		db   modernDB
	}
	var tests []tc
	for _, ps := range []int{512, 1024, 2048, 4096, 8192, 16384, 32768, 65536} {
		n := 1500
		if ps >= 16384 {
			n = 3000
		}
		tests = append(tests, tc{fmt.Sprintf("page size %d", ps), buildModern(t, false,
			fmt.Sprintf("PRAGMA page_size=%d", ps), mozPermsTable, permsRows(n),
			// One origin longer than a 64 KiB page: a chain of overflow pages.
			`INSERT INTO moz_perms (origin, type, permission) VALUES (`+longText("https://x.example/", 200000)+`, 'camera', 1)`,
			`DELETE FROM moz_perms WHERE id % 13 = 0`, // freeblocks and a less regular tree
		)})
	}
	tests = append(tests,
		tc{"UTF-16le", buildModern(t, false, "PRAGMA encoding='UTF-16le'", mozPermsTable, permsRows(500),
			`INSERT INTO moz_perms (origin, type, permission) VALUES ('https://bücher.example/😀', 'camera', 1), ('https://日本.example', 'microphone', 1)`)},
		tc{"UTF-16be", buildModern(t, false, "PRAGMA page_size=512", "PRAGMA encoding='UTF-16be'", mozPermsTable, permsRows(500),
			`INSERT INTO moz_perms (origin, type, permission) VALUES ('https://bücher.example/😀', 'camera', 1), (`+longText("https://ü.example/", 5000)+`, 'microphone', 1)`)},
		tc{"columns reordered, untyped, quoted, table constraint", buildModern(t, false,
			`CREATE TABLE "moz_perms" ( [modificationTime], expireTime BLOB, "permission" NUMERIC DEFAULT 0, origin, -- a comment, (with punctuation)
				`+"`ID`"+` INTEGER NOT NULL, type TEXT COLLATE BINARY CHECK (type <> 'x,y'), expireType INTEGER, extra VARCHAR(10), PRIMARY KEY (id) )`,
			`INSERT INTO moz_perms (id, origin, type, permission, expireType, expireTime, modificationTime, extra) VALUES
				(10, 1.25, 'camera', '1', 2, X'3132', 2.0, 'e'),
				(-5, 'https://a.example', 'microphone', 1, 0, 0, 17, NULL),
				(9223372036854775807, 'https://b.example', 'camera', 0, 1, 9223372036854775807, -9223372036854775808, 'x')`,
			permsRowsInto(300))},
		tc{"column added later", buildModern(t, false,
			`CREATE TABLE moz_perms (id INTEGER PRIMARY KEY, origin TEXT, type TEXT)`,
			`INSERT INTO moz_perms VALUES (1, 'https://a.example', 'camera')`,
			`ALTER TABLE moz_perms ADD COLUMN permission INTEGER`,
			`ALTER TABLE moz_perms ADD COLUMN expireType INTEGER`,
			`ALTER TABLE moz_perms ADD COLUMN expireTime INTEGER`,
			`ALTER TABLE moz_perms ADD COLUMN modificationTime INTEGER`,
			`INSERT INTO moz_perms VALUES (2, 'https://b.example', 'camera', 1, 0, 0, 5)`)},
		tc{"auto-vacuum", buildModern(t, false, "PRAGMA auto_vacuum=FULL", "PRAGMA page_size=1024", mozPermsTable, permsRows(800),
			`DELETE FROM moz_perms WHERE id % 3 = 0`)},
	)
	// Write-ahead logs: one with two committed transactions, the same cut
	// inside the second (its frames without their commit frame count for
	// nothing), and one with a damaged frame (the log ends before it).
	walDB := buildModern(t, true, "PRAGMA page_size=1024", "PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0",
		mozPermsTable, permsRows(300), `PRAGMA wal_checkpoint(TRUNCATE)`,
		`INSERT INTO moz_perms (origin, type, permission) VALUES ('https://first.example', 'camera', 1)`,
		`UPDATE moz_perms SET permission = 9 WHERE id < 700`,
		permsRowsFrom(10000, 400),
	)
	tests = append(tests, tc{"WAL", walDB})
	const frame = 24 + 1024
	cut := walDB.wal[:len(walDB.wal)-frame]
	tests = append(tests, tc{"WAL without its last commit frame", modernDB{walDB.file, cut}})
	if n := (len(walDB.wal) - 32) / frame; n > 4 {
		damaged := bytes.Clone(walDB.wal)
		damaged[32+(n-2)*frame+24+100] ^= 0x55
		tests = append(tests, tc{"WAL with a damaged frame", modernDB{walDB.file, damaged}})
	}
	for _, tt := range tests {
		wantRows, wantGrants, err := modernRows(t, tt.db.file, tt.db.wal)
		if err != nil {
			t.Fatalf("%s: modernc: %v", tt.name, err)
		}
		gotRows, err := ownRows(tt.db.file, tt.db.wal)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(gotRows, wantRows) {
			t.Errorf("%s: %d rows, modernc read %d; first difference %s", tt.name, len(gotRows), len(wantRows), firstDiff(gotRows, wantRows))
		}
		gotGrants, err := readFirefoxPermissions(context.Background(), tt.db.file, tt.db.wal)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(gotGrants, wantGrants) {
			t.Errorf("%s: %d grants, modernc %d", tt.name, len(gotGrants), len(wantGrants))
		}
		t.Logf("%s: %d rows, %d grants, file %d bytes, log %d bytes", tt.name, len(gotRows), len(gotGrants), len(tt.db.file), len(tt.db.wal))
	}

	// A view named moz_perms: modernc and the reader both refuse it.
	view := buildModern(t, false, `CREATE VIEW moz_perms AS SELECT 1 AS origin, 'camera' AS type, 1 AS permission, 0 AS expireType, 0 AS expireTime, 0 AS modificationTime`)
	if _, _, err := modernRows(t, view.file, nil); err == nil || !strings.Contains(err.Error(), "is a view") {
		t.Errorf("view: modernc %v", err)
	}
	if _, err := readFirefoxPermissions(context.Background(), view.file, nil); err == nil || err.Error() != "moz_perms is a view, not a table" {
		t.Errorf("view: %v", err)
	}
}

// permsRowsInto fills the reordered table of the test above.
func permsRowsInto(n int) string {
	return strings.Replace(permsRows(n), "SELECT x * 7,", "SELECT x * 7 + 100,", 1)
}

// permsRowsFrom adds n rows after the first ones.
func permsRowsFrom(start, n int) string {
	return strings.Replace(permsRows(n), "SELECT x * 7,", fmt.Sprintf("SELECT %d + x,", start), 1)
}

func firstDiff(a, b [][]string) string {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return fmt.Sprintf("at row %d: %.200q vs %.200q", i, a[i], b[i])
		}
	}
	return "in length"
}

// TestSQLiteFileHostile: pages that point at each other, trees too deep
// and overflow chains that loop are errors that do not quote the file.
func TestSQLiteFileHostile(t *testing.T) {
	t.Parallel()
	m := buildModern(t, false, "PRAGMA page_size=512", mozPermsTable, permsRows(600))
	d, err := openSQLite(m.file, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, table, err := d.findTable(context.Background(), "moz_perms")
	if err != nil {
		t.Fatal(err)
	}
	root := int(table.root)
	off := (root - 1) * 512
	if m.file[off] != 0x05 {
		t.Fatalf("root page %d is not interior (%#x)", root, m.file[off])
	}
	// The root's right-most child pointing back at the root: a cycle.
	cyc := bytes.Clone(m.file)
	cyc[off+8], cyc[off+9], cyc[off+10], cyc[off+11] = byte(root>>24), byte(root>>16), byte(root>>8), byte(root)
	_, err = readFirefoxPermissions(context.Background(), cyc, nil)
	if err == nil || !strings.Contains(err.Error(), "reached twice") {
		t.Errorf("cycle: %v", err)
	}
	// A cell pointer outside the page.
	bad := bytes.Clone(m.file)
	bad[off+12], bad[off+13] = 0xff, 0xff
	if _, err := readFirefoxPermissions(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), "outside the page") {
		t.Errorf("cell pointer: %v", err)
	}
	// Cell counts beyond the page.
	bad = bytes.Clone(m.file)
	bad[off+3], bad[off+4] = 0xff, 0xff
	if _, err := readFirefoxPermissions(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("cell count: %v", err)
	}
	// An overflow chain of a long origin that loops back on itself.
	long := buildModern(t, false, "PRAGMA page_size=512", mozPermsTable,
		`INSERT INTO moz_perms (origin, type, permission) VALUES (`+longText("https://x.example/", 5000)+`, 'camera', 1)`)
	// Pages 3.. are the overflow chain (page 2 is moz_perms' leaf); point
	// the second overflow page at the first.
	loop := bytes.Clone(long.file)
	copy(loop[3*512:], []byte{0, 0, 0, 3})
	if _, err := readFirefoxPermissions(context.Background(), loop, nil); err == nil || !strings.Contains(err.Error(), "reached twice") {
		t.Errorf("overflow loop: %v", err)
	}
	for _, e := range []string{"x.example", "abab"} {
		if err != nil && strings.Contains(err.Error(), e) {
			t.Errorf("error quotes the file: %v", err)
		}
	}
	// Thousands of cell pointers to one large cell: refused once the
	// cells add up to more than the database, not read thousands of times.
	big := buildModern(t, false, "PRAGMA page_size=65536", mozPermsTable,
		`INSERT INTO moz_perms (origin, type, permission) VALUES (`+longText("https://x.example/", 60000)+`, 'camera', 1)`)
	if r := rootPage(t, big.file, "moz_perms"); r != 2 {
		t.Fatalf("moz_perms at page %d", r)
	}
	shared := bytes.Clone(big.file)
	leaf := shared[65536 : 2*65536]
	if leaf[0] != 0x0d || leaf[3] != 0 || leaf[4] != 1 {
		t.Fatalf("page 2 is not a leaf with one cell")
	}
	leaf[3], leaf[4] = 2000>>8, 2000&0xff
	for i := range 2000 {
		copy(leaf[8+2*i:], leaf[8:10])
	}
	if _, err := readFirefoxPermissions(context.Background(), shared, nil); err == nil || !strings.Contains(err.Error(), "cells overlap") {
		t.Errorf("shared cells: %v", err)
	}
	// The decoder's pieces on their own.
	if _, err := decodeRecord([]byte{0x05, 0x0a, 0, 0, 0}, encUTF8, 10); err == nil {
		t.Error("reserved serial type 10 accepted")
	}
	if _, err := decodeRecord([]byte{0x02, 0x1f, 'a'}, encUTF8, 10); err == nil {
		t.Error("a text longer than its record accepted")
	}
	if v, k := readVarint([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); k != 9 || v != 1<<64-1 {
		t.Errorf("nine-byte varint: %x, %d", v, k)
	}
	if _, k := readVarint([]byte{0x81}); k != 0 {
		t.Error("a cut varint read")
	}
}

func TestParseCreateTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stmt    string
		want    []sqliteColumn
		wantErr string
	}{
		{mozPermsTable, []sqliteColumn{{"id", true}, {"origin", false}, {"type", false}, {"permission", false}, {"expireType", false}, {"expireTime", false}, {"modificationTime", false}}, ""},
		{`CREATE TABLE t (a INTEGER PRIMARY KEY DESC, b)`, []sqliteColumn{{"a", false}, {"b", false}}, ""},
		{`CREATE TABLE t (a INT PRIMARY KEY, b)`, []sqliteColumn{{"a", false}, {"b", false}}, ""},
		{`CREATE TABLE t (a integer, "b""c" TEXT, CONSTRAINT pk PRIMARY KEY (a))`, []sqliteColumn{{"a", true}, {`b"c`, false}}, ""},
		{`CREATE TABLE t (a, b, PRIMARY KEY (a, b))`, []sqliteColumn{{"a", false}, {"b", false}}, ""},
		{`CREATE TABLE t (a INTEGER PRIMARY KEY, b) WITHOUT ROWID`, nil, "WITHOUT ROWID"},
		{`CREATE TABLE t (a, b AS (a + 1))`, nil, "generated"},
		{`CREATE TABLE t (a, b INTEGER GENERATED ALWAYS AS (a) STORED)`, nil, "generated"},
		{`CREATE TABLE t AS SELECT 1`, nil, "AS SELECT"},
		{`CREATE TABLE t (a, 'b`, nil, "unterminated"},
		{`CREATE TABLE t (a, b`, nil, "not closed"},
		{`CREATE TABLE t (a, , b)`, nil, "empty column"},
		{`CREATE VIEW t`, nil, "not a CREATE TABLE"},
	}
	for _, tt := range tests {
		got, err := parseCreateTable(tt.stmt)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.stmt, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.stmt, got, err, tt.want)
		}
	}
}

// FuzzSQLiteFile feeds the reader a database and a log: it returns rows
// or an error, never panics, and the grants it returns are well formed.
// Run it with -fuzzminimizetime 2s (see TestReadFirefoxPermissionsMutated
// for why the default makes it look stalled).
func FuzzSQLiteFile(f *testing.F) {
	real := readFixture(f, "firefox/permissions.sqlite")
	f.Add(real, []byte(nil))
	f.Add(real[:4096], []byte(nil))
	small := sqliteFile(f, "PRAGMA page_size=512", mozPermsTable,
		`INSERT INTO moz_perms VALUES (1, 'https://a.example/' || substr(replace(hex(zeroblob(900)), '00', 'ab'), 1, 1800), 'camera', 1, 2, 5, 6)`)
	f.Add(small, []byte(nil))
	f.Fuzz(func(t *testing.T, db, wal []byte) {
		grants, err := readFirefoxPermissions(context.Background(), db, wal)
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

func FuzzParseCreateTable(f *testing.F) {
	f.Add(mozPermsTable)
	f.Add(`CREATE TABLE "t" ([a] INTEGER, b AS (a), PRIMARY KEY (a)) WITHOUT ROWID`)
	f.Fuzz(func(t *testing.T, stmt string) {
		cols, err := parseCreateTable(stmt)
		if err != nil {
			return
		}
		aliases := 0
		for _, c := range cols {
			if c.rowid {
				aliases++
			}
		}
		if aliases > 1 {
			t.Fatalf("%d rowid aliases in %q", aliases, stmt)
		}
	})
}
