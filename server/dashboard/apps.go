package dashboard

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/vcguard/vcguard/server/admin"
)

// appRow is one catalog tool in the apps inventory, counted in SQL.
type appRow struct{ admin.AppInventory }

// VerdictList is Verdicts in a stable order, e.g. "forbidden: 2".
func (a appRow) VerdictList() []string {
	var out []string
	for _, v := range slices.Sorted(maps.Keys(a.Verdicts)) {
		out = append(out, fmt.Sprintf("%s: %d", v, a.Verdicts[v]))
	}
	return out
}

// inventory reads the apps inventory (bounded by the admin service) and
// the number of devices.
func (d *Dashboard) inventory(r *http.Request) ([]appRow, int, error) {
	inv, err := d.svc().Inventory(r.Context())
	if err != nil {
		return nil, 0, err
	}
	c, err := d.svc().CountFleet(r.Context())
	if err != nil {
		return nil, 0, err
	}
	out := make([]appRow, 0, len(inv))
	for _, a := range inv {
		out = append(out, appRow{a})
	}
	return out, c.Total, nil
}

func (d *Dashboard) apps(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	rows, devices, err := d.inventory(r)
	if err != nil {
		d.serverError(w, "apps page", err)
		return
	}
	d.render(w, http.StatusOK, "apps.html", page{Title: "Apps", Session: s, CSRF: s.CSRF, Refresh: refreshSeconds,
		Data: map[string]any{"Apps": rows, "Devices": devices}})
}

func (d *Dashboard) appsCSV(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	inv, _, err := d.inventory(r)
	if err != nil {
		d.serverError(w, "apps export", err)
		return
	}
	rows := [][]string{{"app_id", "name", "devices_running", "devices_seen", "versions", "devices_outdated", "devices_unverified", "verdicts"}}
	for _, a := range inv {
		rows = append(rows, []string{a.AppID, a.Name, fmt.Sprint(a.Running), fmt.Sprint(a.Devices), strings.Join(a.Versions, " "),
			fmt.Sprint(a.Outdated), fmt.Sprint(a.Unverified), strings.Join(a.VerdictList(), "; ")})
	}
	d.writeCSV(w, r, s, "apps.csv", rows)
}
