package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// MaxInventoryApps bounds the apps inventory; MaxInventoryVersions the
// versions it names per app.
const (
	MaxInventoryApps     = 500
	MaxInventoryVersions = 20
)

// AppInventory is one catalog tool across the fleet, counted in SQL.
type AppInventory struct {
	AppID, Name string
	// Running is on how many devices it runs now; Devices on how many it
	// runs or ran (the server keeps each device's last stopped instance).
	Running, Devices int
	// Versions seen, sorted; at most MaxInventoryVersions.
	Versions []string
	// Outdated and Unverified count devices with an instance of that
	// verdict (or, for Unverified, not proven genuine).
	Outdated, Unverified int
	// Verdicts counts devices by the verdict of their newest instance
	// (a running one before a stopped one).
	Verdicts map[string]int
}

// Inventory aggregates the apps of every device, by app: at most
// MaxInventoryApps apps, those on most devices first. It scans the apps
// table but holds only the aggregates.
func (s *Store) Inventory(ctx context.Context) ([]AppInventory, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, MAX(name),
		COUNT(DISTINCT CASE WHEN running = 1 THEN device_id END),
		COUNT(DISTINCT device_id),
		COUNT(DISTINCT CASE WHEN verdict = 'outdated' THEN device_id END),
		COUNT(DISTINCT CASE WHEN verified = 0 OR verdict = 'unverified' THEN device_id END)
		FROM device_apps GROUP BY app_id ORDER BY 4 DESC, app_id LIMIT $1`, MaxInventoryApps)
	if err != nil {
		return nil, fmt.Errorf("app inventory: %w", err)
	}
	var out []AppInventory
	index := map[string]int{}
	for rows.Next() {
		var a AppInventory
		if err := rows.Scan(&a.AppID, &a.Name, &a.Running, &a.Devices, &a.Outdated, &a.Unverified); err != nil {
			rows.Close()
			return nil, fmt.Errorf("app inventory: %w", err)
		}
		a.Verdicts = map[string]int{}
		index[a.AppID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("app inventory: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = s.db.QueryContext(ctx, `SELECT app_id, verdict, COUNT(*) FROM (
		SELECT app_id, verdict, ROW_NUMBER() OVER (PARTITION BY device_id, app_id ORDER BY running DESC, started_at DESC) AS rn
		FROM device_apps) x WHERE rn = 1 GROUP BY app_id, verdict`)
	if err != nil {
		return nil, fmt.Errorf("app inventory verdicts: %w", err)
	}
	for rows.Next() {
		var app, verdict string
		var n int
		if err := rows.Scan(&app, &verdict, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("app inventory verdicts: %w", err)
		}
		if i, ok := index[app]; ok {
			out[i].Verdicts[verdict] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("app inventory verdicts: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT app_id, version FROM (
		SELECT app_id, version, ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY version) AS rn
		FROM (SELECT DISTINCT app_id, version FROM device_apps WHERE version <> '') v) x
		WHERE rn <= $1 ORDER BY app_id, version`, MaxInventoryVersions)
	if err != nil {
		return nil, fmt.Errorf("app inventory versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var app, version string
		if err := rows.Scan(&app, &version); err != nil {
			return nil, fmt.Errorf("app inventory versions: %w", err)
		}
		if i, ok := index[app]; ok {
			out[i].Versions = append(out[i].Versions, version)
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Versions, strings.Compare)
	}
	return out, rows.Err()
}
