package dashboard

import (
	"encoding/csv"
	"mime"
	"net/http"

	"github.com/vcguard/vcguard/server/admin"
)

// csvCell defuses a value for spreadsheets: a cell starting with = + - @
// (or a tab or carriage return) would be read as a formula, so it gets a
// leading quote.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// writeCSV answers with rows as a CSV attachment named filename.
func (d *Dashboard) writeCSV(w http.ResponseWriter, r *http.Request, s *admin.Session, filename string, rows [][]string) {
	cw := d.startCSV(w, r, s, filename)
	if cw == nil {
		return
	}
	for _, row := range rows {
		if !cw.row(row...) {
			return
		}
	}
	cw.end()
}

// csvStream writes a CSV attachment row by row, defusing every cell.
type csvStream struct {
	d        *Dashboard
	filename string
	w        *csv.Writer
}

// startCSV records the export in the audit log (who exported which file,
// with which filter) and sends the headers of a CSV attachment named
// filename. When the export cannot be audited nothing is exported: it
// answers 500 and returns nil.
func (d *Dashboard) startCSV(w http.ResponseWriter, r *http.Request, s *admin.Session, filename string) *csvStream {
	if err := d.svc().RecordExport(r.Context(), actor(r, s), filename, r.URL.RawQuery); err != nil {
		d.serverError(w, "audit the export of "+filename, err)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.Header().Set("Cache-Control", "no-store")
	return &csvStream{d: d, filename: filename, w: csv.NewWriter(w)}
}

// row writes one row; false means the client is gone and the export
// should stop.
func (c *csvStream) row(cells ...string) bool {
	safe := make([]string, len(cells))
	for i, s := range cells {
		safe[i] = csvCell(s)
	}
	if err := c.w.Write(safe); err != nil {
		c.d.Logger.Debug("csv export", "file", c.filename, "err", err)
		return false
	}
	return true
}

// end flushes what is buffered.
func (c *csvStream) end() {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		c.d.Logger.Debug("csv export", "file", c.filename, "err", err)
	}
}
