package browsersite

// The schema of a SQLite file (§2.6): finding a table and the columns its
// CREATE TABLE statement declares, read from sqlite_schema on page 1.

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// maxColumns is SQLite's own limit on a table's columns (SQLITE_MAX_COLUMN,
// https://www.sqlite.org/limits.html).
const maxColumns = 2000

// sqliteTable is a rowid table found in the schema: its root page and its
// columns in the order its records store them.
type sqliteTable struct {
	root    uint32
	columns []sqliteColumn
}

type sqliteColumn struct {
	name  string
	rowid bool // INTEGER PRIMARY KEY: an alias of the rowid (§2.1, "rowid tables")
}

// findTable looks up a table in sqlite_schema, the table b-tree on page 1
// (§2.6: columns type, name, tbl_name, rootpage, sql), and reads the
// column list of its CREATE TABLE statement. kind is the schema object's
// type ("table", "view", "index", "trigger"), "" when there is none.
func (d *sqliteDB) findTable(ctx context.Context, name string) (kind string, t sqliteTable, err error) {
	var (
		found     bool
		rootVal   sqlValue
		createSQL string
	)
	errStop := errors.New("stop")
	err = d.walkTable(ctx, 1, func(_ int64, payload []byte) error {
		vals, err := decodeRecord(payload, d.encoding, 5)
		if err != nil {
			return err
		}
		if len(vals) < 5 {
			return malformed("sqlite_schema row has %d columns, not 5", len(vals))
		}
		if vals[1].kind != sqlText || vals[1].s != name {
			return nil
		}
		if vals[0].kind != sqlText {
			return malformed("sqlite_schema: the type of %s is not text", name)
		}
		found, kind, rootVal = true, vals[0].s, vals[3]
		if vals[4].kind == sqlText {
			createSQL = vals[4].s
		}
		return errStop
	})
	if err != nil && err != errStop {
		return "", sqliteTable{}, err
	}
	if !found || kind != "table" {
		return kind, sqliteTable{}, nil
	}
	if rootVal.kind != sqlInt || rootVal.i == 0 {
		return kind, sqliteTable{}, fmt.Errorf("%s is a virtual table", name)
	}
	if rootVal.i < 1 || rootVal.i > int64(d.nPages) {
		return kind, sqliteTable{}, malformed("root page of %s outside the database", name)
	}
	cols, err := parseCreateTable(createSQL)
	if err != nil {
		return kind, sqliteTable{}, fmt.Errorf("the CREATE TABLE statement of %s: %w", name, err)
	}
	return kind, sqliteTable{root: uint32(rootVal.i), columns: cols}, nil
}

// parseCreateTable returns the columns of a CREATE TABLE statement
// (https://www.sqlite.org/lang_createtable.html), in order: the record of
// each row holds its values in this order. It refuses what would make the
// records hold something else: a table without rowid (its b-tree is an
// index b-tree), generated columns (virtual ones are not stored) and
// CREATE TABLE ... AS SELECT.
func parseCreateTable(stmt string) ([]sqliteColumn, error) {
	toks, err := sqlTokens(stmt)
	if err != nil {
		return nil, err
	}
	// CREATE [TEMP|TEMPORARY] TABLE [IF NOT EXISTS] [schema.]name ( ... ) [options]
	open := -1
	for i, t := range toks {
		if t.text == "(" && !t.quoted {
			open = i
			break
		}
		if t.keyword("AS") {
			return nil, errors.New("CREATE TABLE AS SELECT is not supported")
		}
	}
	if len(toks) < 3 || !toks[0].keyword("CREATE") || open < 0 {
		return nil, errors.New("not a CREATE TABLE statement")
	}
	var (
		cols  []sqliteColumn
		types []string
		pkDef = -1 // the column whose definition says PRIMARY KEY (not DESC)
		pkTbl []string
		def   []sqlToken
		depth = 0
		end   = -1
	)
	flush := func() error {
		if len(def) == 0 {
			return errors.New("empty column definition")
		}
		first := def[0]
		if !first.quoted {
			switch strings.ToUpper(first.text) {
			case "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN":
				// A table constraint; only PRIMARY KEY (one column) matters.
				for i := 0; i+3 < len(def); i++ {
					if def[i].keyword("PRIMARY") && def[i+1].keyword("KEY") && def[i+2].text == "(" {
						pkTbl = nil
						for _, t := range def[i+3:] {
							if t.text == ")" && !t.quoted {
								break
							}
							if t.text != "," || t.quoted {
								pkTbl = append(pkTbl, t.text)
							}
						}
					}
				}
				def = def[:0]
				return nil
			}
		}
		if first.punct() {
			return errors.New("a column definition does not start with a name")
		}
		col := sqliteColumn{name: first.text}
		var typ []string
		inType := true
		level := 0
		for j, t := range def[1:] {
			if t.punct() {
				switch t.text {
				case "(":
					level++
				case ")":
					level--
				}
				inType = false
				continue
			}
			if level > 0 {
				continue
			}
			if !t.quoted {
				switch strings.ToUpper(t.text) {
				case "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES":
					inType = false
				case "GENERATED", "AS":
					return errors.New("generated columns are not supported")
				}
			}
			if inType {
				typ = append(typ, strings.ToUpper(t.text))
			}
			if t.keyword("PRIMARY") && j+2 < len(def) && def[j+2].keyword("KEY") {
				pkDef = len(cols)
				if j+3 < len(def) && def[j+3].keyword("DESC") {
					pkDef = -2 // INTEGER PRIMARY KEY DESC is not an alias of the rowid
				}
			}
		}
		cols = append(cols, col)
		types = append(types, strings.Join(typ, " "))
		def = def[:0]
		return nil
	}
	for i := open + 1; i < len(toks); i++ {
		t := toks[i]
		if t.punct() {
			switch t.text {
			case "(":
				depth++
			case ")":
				if depth == 0 {
					end = i
				}
				depth--
			case ",":
				if depth == 0 {
					if err := flush(); err != nil {
						return nil, err
					}
					continue
				}
			}
		}
		if end >= 0 {
			break
		}
		def = append(def, t)
	}
	if end < 0 {
		return nil, errors.New("column list not closed")
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(cols) > maxColumns {
		return nil, fmt.Errorf("more than %d columns", maxColumns)
	}
	for _, t := range toks[end+1:] {
		if t.keyword("WITHOUT") {
			return nil, errors.New("tables WITHOUT ROWID are not supported")
		}
	}
	pk := pkDef
	if len(pkTbl) == 1 {
		pk = -1
		for i, c := range cols {
			if strings.EqualFold(c.name, pkTbl[0]) {
				pk = i
				break
			}
		}
	}
	if pk >= 0 && types[pk] == "INTEGER" {
		cols[pk].rowid = true
	}
	return cols, nil
}

// sqlToken is a token of a SQL statement: a word, a quoted identifier or
// string (quoted, text without its quotes), a number or one punctuation
// character.
type sqlToken struct {
	text   string
	quoted bool
}

func (t sqlToken) keyword(k string) bool { return !t.quoted && strings.EqualFold(t.text, k) }

func (t sqlToken) punct() bool {
	return !t.quoted && len(t.text) == 1 && strings.ContainsAny(t.text, "(),;.")
}

// sqlTokens splits a statement into tokens, dropping comments and
// spaces (https://www.sqlite.org/lang_keywords.html for the quotes).
func sqlTokens(s string) ([]sqlToken, error) {
	var toks []sqlToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 4
			}
		case c == '"' || c == '\'' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, errors.New("unterminated quote")
				}
				if s[j] == closer {
					if closer != ']' && j+1 < len(s) && s[j+1] == closer {
						b.WriteByte(closer)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, sqlToken{text: b.String(), quoted: true})
			i = j + 1
		case strings.IndexByte("(),;.", c) >= 0:
			toks = append(toks, sqlToken{text: string(c)})
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r\f\"'`[(),;.", s[j]) < 0 &&
				!(s[j] == '-' && j+1 < len(s) && s[j+1] == '-') {
				j++
			}
			toks = append(toks, sqlToken{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}
