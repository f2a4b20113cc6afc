package dashboard

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vcguard/vcguard/server/admin"
)

// percent is part of whole as a share, "n/a" of nothing.
func percent(part, whole int) string {
	if whole <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d%%", part*100/whole)
}

// overviewCSV exports the overview's breakdowns, one row per value:
// section (os, group, app, finding, not_reporting), value, and counts.
func (d *Dashboard) overviewCSV(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	b, err := d.svc().Breakdown(r.Context(), admin.MaxBreakdownRows)
	if err != nil {
		d.serverError(w, "overview export", err)
		return
	}
	rows := [][]string{{"section", "value", "name", "verdict", "devices", "online", "compliant", "flagged", "last_seen"}}
	for _, part := range []struct {
		name string
		list []admin.Breakdown
	}{{"os", b.ByOS}, {"group", b.ByGroup}} {
		for _, x := range part.list {
			rows = append(rows, []string{part.name, x.Value, "", "", fmt.Sprint(x.Devices), fmt.Sprint(x.Online), fmt.Sprint(x.Compliant), "", ""})
		}
	}
	for _, v := range b.ByVerdict {
		rows = append(rows, []string{"verdict", v.Verdict, "", v.Verdict, fmt.Sprint(v.Devices), "", "", "", ""})
	}
	for _, a := range b.ByApp {
		rows = append(rows, []string{"app", a.AppID, a.Name, "", fmt.Sprint(a.Devices), "", "", fmt.Sprint(a.Flagged), ""})
	}
	for _, f := range b.Findings {
		rows = append(rows, []string{"finding", f.AppID, f.Name, f.Verdict, fmt.Sprint(f.Devices), "", "", "", ""})
	}
	for _, dev := range b.NotReporting {
		rows = append(rows, []string{"not_reporting", dev.ID, dev.Hostname, "", "", "", "", "", dev.LastSeen.UTC().Format(time.RFC3339)})
	}
	d.writeCSV(w, r, s, "overview.csv", rows)
}
