package dashboard

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/vcguard/vcguard/policies"
	"github.com/vcguard/vcguard/server/store"
)

// appRow is one catalog tool in the apps inventory.
type appRow struct {
	AppID, Name string
	// Running is on how many devices it runs now; Devices on how many it
	// runs or ran (the server keeps each device's last stopped instance).
	Running, Devices int
	// Versions seen, sorted.
	Versions []string
	// Outdated and Unverified count devices with an instance of that
	// verdict (or, for Unverified, not proven genuine).
	Outdated, Unverified int
	// Verdicts counts devices by the verdict of their newest instance.
	Verdicts map[string]int
}

// VerdictList is Verdicts in a stable order, e.g. "forbidden: 2".
func (a appRow) VerdictList() []string {
	var out []string
	for _, v := range slices.Sorted(maps.Keys(a.Verdicts)) {
		out = append(out, fmt.Sprintf("%s: %d", v, a.Verdicts[v]))
	}
	return out
}

// inventory aggregates the apps of every device, by app.
func inventory(devs []store.Device) []appRow {
	rows := map[string]*appRow{}
	for _, dev := range devs {
		type seen struct{ running, outdated, unverified bool }
		per := map[string]*seen{}
		newest := map[string]store.DeviceApp{}
		for _, a := range dev.Apps {
			row := rows[a.AppID]
			if row == nil {
				row = &appRow{AppID: a.AppID, Name: a.Name, Verdicts: map[string]int{}}
				rows[a.AppID] = row
			}
			if a.Version != "" && !slices.Contains(row.Versions, a.Version) {
				row.Versions = append(row.Versions, a.Version)
			}
			sn := per[a.AppID]
			if sn == nil {
				sn = &seen{}
				per[a.AppID] = sn
			}
			sn.running = sn.running || a.Running
			sn.outdated = sn.outdated || a.Verdict == string(policies.VerdictOutdated)
			sn.unverified = sn.unverified || !a.Verified || a.Verdict == string(policies.VerdictUnverified)
			if n, ok := newest[a.AppID]; !ok || a.Running && !n.Running || a.Running == n.Running && a.Started.After(n.Started) {
				newest[a.AppID] = a
			}
		}
		for id, sn := range per {
			row := rows[id]
			row.Devices++
			if sn.running {
				row.Running++
			}
			if sn.outdated {
				row.Outdated++
			}
			if sn.unverified {
				row.Unverified++
			}
			row.Verdicts[newest[id].Verdict]++
		}
	}
	out := make([]appRow, 0, len(rows))
	for _, row := range rows {
		slices.Sort(row.Versions)
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b appRow) int {
		if a.Devices != b.Devices {
			return b.Devices - a.Devices
		}
		return strings.Compare(a.AppID, b.AppID)
	})
	return out
}

func (d *Dashboard) apps(w http.ResponseWriter, r *http.Request, s *store.Session) {
	devs, err := d.API.Store.Devices(r.Context())
	if err != nil {
		d.serverError(w, "apps page", err)
		return
	}
	d.render(w, http.StatusOK, "apps.html", page{Title: "Apps", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Apps": inventory(devs), "Devices": len(devs)}})
}

func (d *Dashboard) appsCSV(w http.ResponseWriter, r *http.Request, s *store.Session) {
	devs, err := d.API.Store.Devices(r.Context())
	if err != nil {
		d.serverError(w, "apps export", err)
		return
	}
	rows := [][]string{{"app_id", "name", "devices_running", "devices_seen", "versions", "devices_outdated", "devices_unverified", "verdicts"}}
	for _, a := range inventory(devs) {
		rows = append(rows, []string{a.AppID, a.Name, fmt.Sprint(a.Running), fmt.Sprint(a.Devices), strings.Join(a.Versions, " "),
			fmt.Sprint(a.Outdated), fmt.Sprint(a.Unverified), strings.Join(a.VerdictList(), "; ")})
	}
	d.writeCSV(w, "apps.csv", rows)
}
