package dashboard

import (
	"encoding/csv"
	"mime"
	"net/http"
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
func (d *Dashboard) writeCSV(w http.ResponseWriter, filename string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	for _, row := range rows {
		safe := make([]string, len(row))
		for i, c := range row {
			safe[i] = csvCell(c)
		}
		if err := cw.Write(safe); err != nil {
			d.Logger.Debug("csv export", "file", filename, "err", err)
			return
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		d.Logger.Debug("csv export", "file", filename, "err", err)
	}
}
