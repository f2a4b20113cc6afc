package store

// The overview's breakdowns of the fleet, counted in SQL and bounded, and
// the one change the fleet views make besides revoking: a device's group.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MaxBreakdownRows bounds each breakdown list of the overview.
const MaxBreakdownRows = 50

// Breakdown counts the devices of one value (an OS, a group: "" is none).
type Breakdown struct {
	Value string
	// Devices counts every device, Online those online now, Compliant
	// the online ones that run no app with a flagged verdict (as
	// CountFleet counts them).
	Devices, Online, Compliant int
}

// ComplianceBy counts the devices by "os" or "group", most devices first
// (at most MaxBreakdownRows values).
func (s *Store) ComplianceBy(ctx context.Context, by string, now time.Time, staleAfter time.Duration) ([]Breakdown, error) {
	col := map[string]string{"os": "os", "group": "device_group"}[by]
	if col == "" {
		return nil, fmt.Errorf("compliance by %q: want os or group", by)
	}
	cut := micros(now.Add(-staleAfter))
	rows, err := s.db.QueryContext(ctx, `SELECT `+col+`, COUNT(*),
		COALESCE(SUM(CASE WHEN connected = 1 AND last_seen > $1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN connected = 1 AND last_seen > $1 AND NOT EXISTS (SELECT 1 FROM device_apps a
			WHERE a.device_id = devices.id AND a.running = 1 AND a.verdict IN `+flaggedVerdicts+`) THEN 1 ELSE 0 END), 0)
		FROM devices GROUP BY `+col+` ORDER BY 2 DESC, 1 LIMIT $2`, cut, MaxBreakdownRows)
	if err != nil {
		return nil, fmt.Errorf("compliance by %s: %w", by, err)
	}
	defer rows.Close()
	var out []Breakdown
	for rows.Next() {
		var b Breakdown
		if err := rows.Scan(&b.Value, &b.Devices, &b.Online, &b.Compliant); err != nil {
			return nil, fmt.Errorf("compliance by %s: %w", by, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// VerdictCount is how many devices have a worst running verdict ("" for
// devices running no catalog app).
type VerdictCount struct {
	Verdict string
	Devices int
}

// DevicesByVerdict counts the devices by the worst verdict of their
// running apps, worst first, "" (none running) last.
func (s *Store) DevicesByVerdict(ctx context.Context) ([]VerdictCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r, COUNT(*) FROM (SELECT `+sortColumns["verdict"]+` AS r FROM devices) x
		GROUP BY r ORDER BY r DESC`)
	if err != nil {
		return nil, fmt.Errorf("devices by verdict: %w", err)
	}
	defer rows.Close()
	var out []VerdictCount
	for rows.Next() {
		var rank int
		var c VerdictCount
		if err := rows.Scan(&rank, &c.Devices); err != nil {
			return nil, fmt.Errorf("devices by verdict: %w", err)
		}
		c.Verdict = verdictOfRank(rank)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AppBreakdown is one app running across the fleet now.
type AppBreakdown struct {
	AppID, Name string
	// Devices counts the devices it runs on; Flagged those where an
	// instance of it has a flagged verdict (forbidden, unverified,
	// outdated).
	Devices, Flagged int
}

// RunningByApp counts the devices each running app runs on, most devices
// first (at most MaxBreakdownRows apps).
func (s *Store) RunningByApp(ctx context.Context) ([]AppBreakdown, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, MAX(name), COUNT(DISTINCT device_id),
		COUNT(DISTINCT CASE WHEN verdict IN `+flaggedVerdicts+` THEN device_id END)
		FROM device_apps WHERE running = 1 GROUP BY app_id ORDER BY 3 DESC, 1 LIMIT $1`, MaxBreakdownRows)
	if err != nil {
		return nil, fmt.Errorf("running apps by app: %w", err)
	}
	defer rows.Close()
	var out []AppBreakdown
	for rows.Next() {
		var b AppBreakdown
		if err := rows.Scan(&b.AppID, &b.Name, &b.Devices, &b.Flagged); err != nil {
			return nil, fmt.Errorf("running apps by app: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Finding is an app running with a verdict the policy does not approve,
// and on how many devices.
type Finding struct {
	AppID, Name, Verdict string
	Devices              int
}

// TopFindings lists the running apps whose verdict is forbidden,
// unverified, outdated or unlisted, by app and verdict, on most devices
// first (at most limit, 1 to MaxBreakdownRows).
func (s *Store) TopFindings(ctx context.Context, limit int) ([]Finding, error) {
	limit = min(max(limit, 1), MaxBreakdownRows)
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, MAX(name), verdict, COUNT(DISTINCT device_id)
		FROM device_apps WHERE running = 1 AND verdict IN ('forbidden', 'unverified', 'outdated', 'unlisted')
		GROUP BY app_id, verdict ORDER BY 4 DESC, 1, 3 LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("top findings: %w", err)
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		if err := rows.Scan(&f.AppID, &f.Name, &f.Verdict, &f.Devices); err != nil {
			return nil, fmt.Errorf("top findings: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// NotReporting lists the devices not revoked and not heard from within
// staleAfter of now, silent longest first (at most limit, 1 to
// MaxBreakdownRows), and how many there are in all.
func (s *Store) NotReporting(ctx context.Context, now time.Time, staleAfter time.Duration, limit int) ([]Device, int, error) {
	limit = min(max(limit, 1), MaxBreakdownRows)
	cut := micros(now.Add(-staleAfter))
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE revoked_at = 0 AND last_seen <= $1`, cut).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("devices not reporting: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE revoked_at = 0 AND last_seen <= $1
		ORDER BY last_seen, hostname, id LIMIT $2`, cut, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("devices not reporting: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("devices not reporting: %w", err)
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}

// AppFacet is an app the device filter offers.
type AppFacet struct{ AppID, Name string }

// AppFacets lists the apps any device runs or ran (at most 200), by id.
func (s *Store) AppFacets(ctx context.Context) ([]AppFacet, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, MAX(name) FROM device_apps WHERE app_id <> '' GROUP BY app_id ORDER BY app_id LIMIT $1`, maxFacets)
	if err != nil {
		return nil, fmt.Errorf("list device apps: %w", err)
	}
	defer rows.Close()
	var out []AppFacet
	for rows.Next() {
		var f AppFacet
		if err := rows.Scan(&f.AppID, &f.Name); err != nil {
			return nil, fmt.Errorf("list device apps: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SetDeviceGroup moves a device to group ("" for none) and records audit
// in the same transaction. The agent learns its group at its next
// certificate renewal.
func (s *Store) SetDeviceGroup(ctx context.Context, id, group string, audit AuditEntry) (Device, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET device_group = $1 WHERE id = $2`, group, id)
		if err != nil {
			return fmt.Errorf("set group of device %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set group of device %s: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("device %s: %w", id, ErrNotFound)
		}
		return appendAudit(ctx, tx, s.dialect, audit)
	})
	if err != nil {
		return Device{}, err
	}
	d, err := s.DeviceRecord(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return d, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	return d, err
}
