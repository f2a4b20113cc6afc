package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// This file keeps the servers and accounts behind each device's meeting
// apps: the latest app_connection event per device and app, applied on
// ingest in the group transaction that stores the event (like the running
// apps and media), and the fleet counts the dashboard reads.

// Per-device caps of the connection state. An agent reports a handful of
// apps with a server or two and an account each; a broken or hostile one
// could report without end. Past a cap the event is still stored, the state
// change it asks for is refused whole (the app keeps its previous state)
// and reported through Store.Refused.
const (
	// MaxConnectionApps is how many apps a device may have connection
	// state for.
	MaxConnectionApps = 32
	// MaxConnectionItems is how many servers and accounts, across its
	// apps, a device may have.
	MaxConnectionItems = 128
	// MaxConnectionValue bounds a server host name, account domain, tenant
	// or app id in bytes (a DNS name is at most 253).
	MaxConnectionValue = 253
)

// Reasons passed to Store.Refused by the connection state.
const (
	// RefusedConnectionRows: an app's connection state would pass
	// MaxConnectionApps or MaxConnectionItems.
	RefusedConnectionRows = "device_connection_rows"
	// RefusedConnectionValue: a host name, domain, tenant or app id is
	// empty where needed or longer than MaxConnectionValue.
	RefusedConnectionValue = "device_connection_value"
)

// Item kinds of device_connection_items.item.
const (
	ConnectionItemServer  = "server"
	ConnectionItemAccount = "account"
)

const (
	sqlConnOtherApps = `SELECT COUNT(*) FROM device_connections WHERE device_id = $1 AND app_id <> $2`
	sqlConnOtherRows = `SELECT COUNT(*) FROM device_connection_items WHERE device_id = $1 AND app_id <> $2`
	sqlConnUpsert    = `INSERT INTO device_connections (device_id, app_id, source, error, at, received_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (device_id, app_id) DO UPDATE SET source = excluded.source, error = excluded.error,
			at = excluded.at, received_at = excluded.received_at`
	sqlConnClearItems = `DELETE FROM device_connection_items WHERE device_id = $1 AND app_id = $2`
	sqlConnInsertItem = `INSERT INTO device_connection_items (device_id, app_id, item, value, tenant, account_kind, finding, action)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`
)

// connectionStatements are the group statements of this file.
var connectionStatements = []string{sqlConnOtherApps, sqlConnOtherRows, sqlConnUpsert, sqlConnClearItems, sqlConnInsertItem}

// connItem is one row of device_connection_items.
type connItem struct {
	item, value, tenant, accountKind, finding, action string
}

// connectionItems turns an app_connection event into its rows: a row per
// server and per account, each marked with the finding about it. A finding
// that names neither a reported server nor account gets a row of its own,
// so nothing the agent found wrong is lost. ok is false when a value is
// longer than MaxConnectionValue.
func connectionItems(c *vcguardv1.AppConnection) (items []connItem, ok bool) {
	byKey := map[connItem]int{}
	add := func(it connItem) {
		k := connItem{item: it.item, value: it.value, tenant: it.tenant, accountKind: it.accountKind}
		if i, dup := byKey[k]; dup {
			// The strongest finding wins: a duplicate row repeats what
			// the first said, or adds a finding it lacked.
			if items[i].finding == "" || actionRank(it.action) > actionRank(items[i].action) {
				items[i].finding, items[i].action = cmp.Or(it.finding, items[i].finding), cmp.Or(it.action, items[i].action)
			}
			return
		}
		byKey[k] = len(items)
		items = append(items, it)
	}
	ok = true
	long := func(s ...string) bool {
		for _, v := range s {
			if len(v) > MaxConnectionValue {
				ok = false
				return true
			}
		}
		return false
	}
	type found struct{ finding, action string }
	servers := map[string]found{}
	accounts := map[string]found{}
	for _, f := range c.GetFindings() {
		detail := strings.ToLower(strings.TrimSpace(f.GetDetail()))
		fd := found{string(policies.ConnectionFindingKindFromProto(f.GetKind())), string(policies.ActionFromProto(f.GetPolicyAction()))}
		if long(detail) {
			continue
		}
		m := accounts
		if f.GetKind() == vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER {
			m = servers
		}
		if prev, dup := m[detail]; !dup || actionRank(fd.action) > actionRank(prev.action) {
			m[detail] = fd
		}
	}
	used := map[string]bool{}
	for _, h := range c.GetServers() {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h == "" || long(h) {
			continue
		}
		fd := servers[h]
		if fd.finding != "" {
			used["s\x00"+h] = true
		}
		add(connItem{item: ConnectionItemServer, value: h, finding: fd.finding, action: fd.action})
	}
	for _, a := range c.GetAccounts() {
		domain := strings.ToLower(strings.TrimSpace(a.GetDomain()))
		tenant := strings.ToLower(strings.TrimSpace(a.GetTenant()))
		if long(domain, tenant) {
			continue
		}
		kind := policies.AccountKindFromProto(a.GetKind())
		// The detail a personal_account finding names the account by
		// (policies.EvaluateConnection): its domain, else its tenant,
		// else its kind.
		detail := cmp.Or(domain, tenant)
		if detail == "" {
			detail = string(kind) + " account"
		}
		fd := accounts[detail]
		if fd.finding != "" {
			used["a\x00"+detail] = true
		}
		add(connItem{item: ConnectionItemAccount, value: domain, tenant: tenant, accountKind: string(kind), finding: fd.finding, action: fd.action})
	}
	for h, fd := range servers {
		if !used["s\x00"+h] && h != "" {
			add(connItem{item: ConnectionItemServer, value: h, finding: fd.finding, action: fd.action})
		}
	}
	for d, fd := range accounts {
		if used["a\x00"+d] || d == "" {
			continue
		}
		it := connItem{item: ConnectionItemAccount, value: d, accountKind: string(policies.AccountUnknown), finding: fd.finding, action: fd.action}
		if k, isKind := strings.CutSuffix(d, " account"); isKind && !strings.Contains(k, ".") {
			// An account known by its kind only ("personal account").
			it.value, it.accountKind = "", string(policies.AccountKindFromProto(policies.AccountKind(k).Proto()))
		}
		add(it)
	}
	// Sorted, so the rows inserted do not depend on map order.
	slices.SortFunc(items, func(a, b connItem) int {
		return cmp.Or(cmp.Compare(a.item, b.item), cmp.Compare(a.value, b.value), cmp.Compare(a.tenant, b.tenant),
			cmp.Compare(a.accountKind, b.accountKind))
	})
	return items, ok
}

// actionRank orders actions by strength; "" is none.
func actionRank(a string) int {
	switch policies.Action(a) {
	case policies.ActionMonitor:
		return 1
	case policies.ActionWarn:
		return 2
	case policies.ActionBlock:
		return 3
	}
	return 0
}

// connection replaces the device's connection state of one app with what
// an app_connection event reports. Every statement goes through a primary
// key or its prefix, and the rows it writes are bounded by the caps.
func (g *group) connection(device string, c *vcguardv1.AppConnection, at int64, now time.Time) error {
	app := strings.TrimSpace(c.GetAppId())
	if app == "" || len(app) > MaxConnectionValue {
		g.refuse(RefusedConnectionValue)
		return nil
	}
	items, ok := connectionItems(c)
	if !ok {
		g.refuse(RefusedConnectionValue)
		return nil
	}
	var apps, rows int64
	if err := g.scan(sqlConnOtherApps, []any{device, app}, &apps); err != nil {
		return err
	}
	if err := g.scan(sqlConnOtherRows, []any{device, app}, &rows); err != nil {
		return err
	}
	if apps >= MaxConnectionApps || rows+int64(len(items)) > MaxConnectionItems {
		g.refuse(RefusedConnectionRows)
		return nil
	}
	source, errText := c.GetSource(), c.GetError()
	if len(source) > MaxConnectionValue {
		source = truncateUTF8(source, MaxConnectionValue)
	}
	if len(errText) > maxConnectionError {
		errText = truncateUTF8(errText, maxConnectionError)
	}
	if _, err := g.exec(sqlConnUpsert, device, app, source, errText, at, micros(now)); err != nil {
		return err
	}
	if _, err := g.exec(sqlConnClearItems, device, app); err != nil {
		return err
	}
	for _, it := range items {
		if _, err := g.exec(sqlConnInsertItem, device, app, it.item, it.value, it.tenant, it.accountKind, it.finding, it.action); err != nil {
			return err
		}
	}
	return nil
}

// maxConnectionError bounds the stored reason nothing could be read.
const maxConnectionError = 1024

// truncateUTF8 cuts s to at most n bytes without leaving a split
// character at the end.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Bounds of the fleet's connection counts.
const (
	// MaxConnectionFleetApps bounds the apps Connections returns.
	MaxConnectionFleetApps = 100
	// MaxConnectionFleetEntries bounds the servers and accounts
	// Connections returns per app, those on most devices first.
	MaxConnectionFleetEntries = 50
)

// ConnectionEntry is one server or account of an app across the fleet.
type ConnectionEntry struct {
	// Item is ConnectionItemServer or ConnectionItemAccount.
	Item string
	// Value is the server's host name or the account's login domain
	// ("" when unknown); Tenant the account's tenant id, if any;
	// AccountKind work, personal or unknown (accounts only).
	Value, Tenant, AccountKind string
	// Devices is on how many devices the app is set up with it; Flagged
	// on how many of them the policy found it wrong.
	Devices, Flagged int
	// Finding is what the policy found wrong (wrong_server,
	// personal_account) on at least one device, "" if nothing; Action the
	// strongest action taken.
	Finding, Action string
}

// AppConnections is one app's servers and accounts across the fleet.
type AppConnections struct {
	AppID string
	// Devices is how many devices report the app's setup; Unreadable on
	// how many of them nothing could be read (an error).
	Devices, Unreadable int
	// Latest is when the newest report was made (the agent's time).
	Latest time.Time
	// Entries are the servers and accounts, servers first, then those on
	// most devices; at most MaxConnectionFleetEntries.
	Entries []ConnectionEntry
	// EntriesTotal counts them all.
	EntriesTotal int
}

// Connections counts, per app, the servers and accounts devices report it
// set up for: at most MaxConnectionFleetApps apps (most devices first) and
// MaxConnectionFleetEntries entries each. It holds only the aggregates.
func (s *Store) Connections(ctx context.Context) ([]AppConnections, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app_id, COUNT(*), COUNT(CASE WHEN error <> '' THEN 1 END), MAX(at)
		FROM device_connections GROUP BY app_id ORDER BY 2 DESC, app_id LIMIT $1`, MaxConnectionFleetApps)
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	var out []AppConnections
	index := map[string]int{}
	for rows.Next() {
		var a AppConnections
		var latest int64
		if err := rows.Scan(&a.AppID, &a.Devices, &a.Unreadable, &latest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("connections: %w", err)
		}
		a.Latest = fromMicros(latest)
		index[a.AppID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = s.db.QueryContext(ctx, `SELECT app_id, item, value, tenant, account_kind, devices, flagged, finding, rank, total FROM (
		SELECT app_id, item, value, tenant, account_kind, devices, flagged, finding, rank,
			ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY item DESC, devices DESC, value, tenant, account_kind) AS rn,
			COUNT(*) OVER (PARTITION BY app_id) AS total
		FROM (SELECT app_id, item, value, tenant, account_kind,
				COUNT(DISTINCT device_id) AS devices,
				COUNT(DISTINCT CASE WHEN finding <> '' THEN device_id END) AS flagged,
				MAX(finding) AS finding,
				MAX(CASE action WHEN 'block' THEN 3 WHEN 'warn' THEN 2 WHEN 'monitor' THEN 1 ELSE 0 END) AS rank
			FROM device_connection_items GROUP BY app_id, item, value, tenant, account_kind) g) x
		WHERE rn <= $1 ORDER BY app_id, rn`, MaxConnectionFleetEntries)
	if err != nil {
		return nil, fmt.Errorf("connection entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var app string
		var e ConnectionEntry
		var rank, total int
		if err := rows.Scan(&app, &e.Item, &e.Value, &e.Tenant, &e.AccountKind, &e.Devices, &e.Flagged, &e.Finding, &rank, &total); err != nil {
			return nil, fmt.Errorf("connection entries: %w", err)
		}
		e.Action = [...]string{"", string(policies.ActionMonitor), string(policies.ActionWarn), string(policies.ActionBlock)}[min(max(rank, 0), 3)]
		if i, ok := index[app]; ok {
			out[i].Entries = append(out[i].Entries, e)
			out[i].EntriesTotal = total
		}
	}
	return out, rows.Err()
}
