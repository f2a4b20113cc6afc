package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table writes aligned columns.
type table struct {
	w *tabwriter.Writer
}

// newTable starts a table with a header row (none when no header is given).
func newTable(out io.Writer, header ...string) *table {
	t := &table{w: tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

// row adds a row; tabs and newlines in cells are replaced so they cannot
// break the columns.
func (t *table) row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	fmt.Fprintln(t.w, strings.TrimRight(strings.Join(clean, "\t"), "\t"))
}

func (t *table) flush() error { return t.w.Flush() }
