package docs

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"github.com/vcguard/vcguard/server/store"
)

// privacyDoc is the data inventory the tests check.
const privacyDoc = "privacy.md"

// agentUpstream are the messages an agent sends to the server: the
// requests of every AgentService call. Everything reachable from them
// leaves the laptop.
var agentUpstream = []protoreflect.MessageDescriptor{
	(&vcguardv1.EnrollRequest{}).ProtoReflect().Descriptor(),
	(&vcguardv1.RenewRequest{}).ProtoReflect().Descriptor(),
	(&vcguardv1.AgentMessage{}).ProtoReflect().Descriptor(),
}

// inventoryEntry is one `name.field` entry of the document and the line of
// the table it is on.
type inventoryEntry struct {
	line string
	n    int
}

// entryPattern finds `Message.field` (protocol) and `table.column`
// (database) in backticks.
var entryPattern = regexp.MustCompile("`([A-Za-z][A-Za-z0-9_]*)\\.([a-z][a-z0-9_]*)`")

// readInventory reads privacy.md. Its entries are the rows of its tables
// whose first cell is one `name.field`, by "name.field": a mention in the
// prose or in another cell ("Also in") does not stand in for a row. refs
// are every `name.field` anywhere in the document, so a stale name is
// caught wherever it is.
func readInventory(t *testing.T) (entries, refs map[string]inventoryEntry) {
	t.Helper()
	data, err := os.ReadFile(privacyDoc)
	if err != nil {
		t.Fatalf("read the data inventory: %v", err)
	}
	entries, refs = map[string]inventoryEntry{}, map[string]inventoryEntry{}
	for i, line := range strings.Split(string(data), "\n") {
		e := inventoryEntry{line: line, n: i + 1}
		for _, m := range entryPattern.FindAllStringSubmatch(line, -1) {
			if _, dup := refs[m[1]+"."+m[2]]; !dup {
				refs[m[1]+"."+m[2]] = e
			}
		}
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 3 || cells[0] != "" {
			continue
		}
		first := strings.TrimSpace(cells[1])
		if m := entryPattern.FindStringSubmatch(first); m != nil && m[0] == first {
			if prev, dup := entries[m[1]+"."+m[2]]; dup {
				t.Errorf("docs/%s:%d: %s has a row already (line %d)", privacyDoc, e.n, first, prev.n)
			}
			entries[m[1]+"."+m[2]] = e
		}
	}
	return entries, refs
}

// upstreamFields walks every message reachable from agentUpstream within
// the vcguard.v1 package (a google.protobuf.Timestamp is a time, not a
// message of its own) and returns its fields as "Message.field", and the
// names of the messages walked.
func upstreamFields() (fields []protoreflect.FieldDescriptor, messages map[string]bool) {
	pkg := agentUpstream[0].ParentFile().Package()
	messages = map[string]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if md.ParentFile().Package() != pkg || messages[docName(md)] {
			return
		}
		messages[docName(md)] = true
		fs := md.Fields()
		for i := range fs.Len() {
			f := fs.Get(i)
			fields = append(fields, f)
			if sub := f.Message(); sub != nil {
				walk(sub)
			}
		}
	}
	for _, md := range agentUpstream {
		walk(md)
	}
	return fields, messages
}

// docName is a message's name as the document writes it: its full name
// without the package ("Event", "AppEvent.Kind" for a nested one).
func docName(md protoreflect.MessageDescriptor) string {
	return strings.TrimPrefix(string(md.FullName()), string(md.ParentFile().Package())+".")
}

func fieldKey(f protoreflect.FieldDescriptor) string {
	return docName(f.ContainingMessage()) + "." + string(f.Name())
}

func deprecated(f protoreflect.FieldDescriptor) bool {
	opts, ok := f.Options().(*descriptorpb.FieldOptions)
	return ok && opts.GetDeprecated()
}

// enumValues are the values an enum field may carry, in lower case without
// the enum's prefix ("left_on" for MEDIA_FINDING_KIND_LEFT_ON), the
// unspecified zero value left out; nil for a field of another kind.
func enumValues(f protoreflect.FieldDescriptor) []string {
	ed := f.Enum()
	if ed == nil {
		return nil
	}
	vs := ed.Values()
	prefix, _ := strings.CutSuffix(string(vs.ByNumber(0).Name()), "UNSPECIFIED")
	var names []string
	for i := range vs.Len() {
		if v := vs.Get(i); v.Number() != 0 {
			names = append(names, strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix)))
		}
	}
	return names
}

// TestPrivacyInventoryListsEveryAgentField fails when a field the agent
// sends has no row in docs/privacy.md, when a deprecated field's row does
// not say it is deprecated, when an enum field's row leaves out a value it
// may carry (a new finding kind is new information), and when a row names a field of a sent
// message that no longer exists. A new field cannot be added to the
// protocol without its entry.
func TestPrivacyInventoryListsEveryAgentField(t *testing.T) {
	entries, refs := readInventory(t)
	fields, messages := upstreamFields()
	if len(fields) < 40 {
		t.Fatalf("walked only %d fields from %d messages: the walk is broken", len(fields), len(messages))
	}
	known := map[string]bool{}
	for _, f := range fields {
		key := fieldKey(f)
		known[key] = true
		e, ok := entries[key]
		if !ok {
			t.Errorf("%s (%s) is sent by the agent but has no row in docs/%s: add `%s` with its purpose, retention and readers", key, f.FullName(), privacyDoc, key)
			continue
		}
		if deprecated(f) && !strings.Contains(strings.ToLower(e.line), "deprecated") {
			t.Errorf("docs/%s:%d: %s is deprecated in the protocol; its row must say so", privacyDoc, e.n, key)
		}
		for _, v := range enumValues(f) {
			if !strings.Contains(strings.ToLower(e.line), v) && !strings.Contains(strings.ToLower(e.line), strings.ReplaceAll(v, "_", " ")) {
				t.Errorf("docs/%s:%d: the row of %s does not name the value %q it may carry", privacyDoc, e.n, key, v)
			}
		}
	}
	for key, e := range refs {
		msg, _, _ := strings.Cut(key, ".")
		if messages[msg] && !known[key] {
			t.Errorf("docs/%s:%d: `%s` is listed, but message %s has no such field (renamed or removed?)", privacyDoc, e.n, key, msg)
		}
	}
}

// storedColumns migrates a fresh SQLite database with the store's own
// migrations and returns its tables' columns as "table.column" (the
// migration tool's own bookkeeping table left out).
func storedColumns(t *testing.T) (columns []string, tables map[string]bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vcguard.db")
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'goose_%' ORDER BY m.name, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tables = map[string]bool{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		tables[table] = true
		columns = append(columns, table+"."+column)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return columns, tables
}

// TestPrivacyInventoryListsEveryStoredColumn fails when a column of the
// server's database (as its migrations build it) has no row in
// docs/privacy.md, or when a row names a column of a stored table that no
// longer exists.
func TestPrivacyInventoryListsEveryStoredColumn(t *testing.T) {
	entries, refs := readInventory(t)
	columns, tables := storedColumns(t)
	if len(tables) < 10 {
		t.Fatalf("found only %d tables: %v", len(tables), columns)
	}
	for _, c := range columns {
		if _, ok := entries[c]; !ok {
			t.Errorf("column %s is stored by the server but has no row in docs/%s: add `%s` with its purpose, retention and readers", c, privacyDoc, c)
		}
	}
	for key, e := range refs {
		table, _, _ := strings.Cut(key, ".")
		if tables[table] && !slices.Contains(columns, key) {
			t.Errorf("docs/%s:%d: `%s` is listed, but table %s has no such column (renamed or dropped?)", privacyDoc, e.n, key, table)
		}
	}
}

// Statements of a migration the PostgreSQL test below reads.
var (
	createTable = regexp.MustCompile(`(?i)^CREATE TABLE (?:IF NOT EXISTS )?([a-z_0-9]+)\s*\(`)
	columnDef   = regexp.MustCompile(`^\s+([a-z_0-9]+)\s+[A-Za-z]`)
	addColumn   = regexp.MustCompile(`(?i)^ALTER TABLE ([a-z_0-9]+) ADD COLUMN (?:IF NOT EXISTS )?([a-z_0-9]+)`)
)

// TestPrivacyInventoryListsEveryPostgresColumn reads the PostgreSQL
// migrations (no server needed): a column added there alone needs its row
// too. Only the up migrations' CREATE TABLE and ADD COLUMN count.
func TestPrivacyInventoryListsEveryPostgresColumn(t *testing.T) {
	entries, _ := readInventory(t)
	files, err := filepath.Glob(filepath.Join("..", "server", "store", "migrations", "postgres", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no PostgreSQL migrations found: %v", err)
	}
	n := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(data), "-- +goose Down")
		table := ""
		for _, line := range strings.Split(up, "\n") {
			var column, key string
			switch {
			case createTable.MatchString(line):
				table = createTable.FindStringSubmatch(line)[1]
				continue
			case table != "" && strings.HasPrefix(strings.TrimSpace(line), ")"):
				table = ""
				continue
			case table != "" && columnDef.MatchString(line):
				column = columnDef.FindStringSubmatch(line)[1]
				if slices.Contains([]string{"primary", "unique", "foreign", "constraint", "check"}, strings.ToLower(column)) {
					continue
				}
			case addColumn.MatchString(line):
				m := addColumn.FindStringSubmatch(line)
				key = m[1] + "." + m[2]
			default:
				continue
			}
			if key == "" {
				key = table + "." + column
			}
			n++
			if _, ok := entries[key]; !ok {
				t.Errorf("%s: column %s has no row in docs/%s: add `%s` with its purpose, retention and readers", filepath.Base(file), key, privacyDoc, key)
			}
		}
	}
	if n < 50 {
		t.Fatalf("read only %d columns from %d PostgreSQL migrations: the parser is broken", n, len(files))
	}
}
