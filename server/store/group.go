package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// group is one group transaction of the writer: the requests of many
// streams applied in order. Each device's row is read once (locked on
// PostgreSQL), changed in memory as the requests go, and written once at the
// end; on PostgreSQL events and device rows are written with one statement
// each (arrays, unnest), so a group costs a handful of round trips plus one
// per change of app or media state.
type group struct {
	w     *writer
	tx    *sql.Tx
	ctx   context.Context
	stmts map[string]*sql.Stmt // the writer's statements bound to tx
	devs  map[string]*devRow   // devices of the group that exist
	evs   eventRows            // PostgreSQL: events to insert at the end
	// refused collects the refusals of the event being applied.
	refused []string
}

// devRow is the part of a device row the write path changes.
type devRow struct {
	id                                       string
	hostname, os, osVersion, arch, agentVers string
	connected, lastSeen, lastSeq, policyVer  int64
	dirty                                    bool
}

type eventRows struct {
	device                []string
	seq, time, receivedAt []int64
	typ                   []string
	payload               [][]byte
}

// The statements of a group transaction, prepared once per connection.
const (
	sqlInsertEvent = `INSERT INTO events (device_id, seq, type, time, received_at, payload)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	sqlLoadDevicesPG  = `SELECT ` + devRowColumns + ` FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`
	sqlLoadDevice     = `SELECT ` + devRowColumns + ` FROM devices WHERE id = $1`
	sqlAudit          = `INSERT INTO audit_log (at, actor, action, target, detail, remote_addr) VALUES ($1, $2, $3, $4, $5, $6)`
	sqlInsertEventsPG = `INSERT INTO events (device_id, seq, type, time, received_at, payload)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[])
			ON CONFLICT DO NOTHING`
	sqlWriteDevicesPG = `UPDATE devices AS d SET hostname = v.hostname, os = v.os, os_version = v.os_version, arch = v.arch,
			agent_version = v.agent_version, connected = v.connected, last_seen = v.last_seen, last_seq = v.last_seq,
			policy_version = v.policy_version
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
				AS v(id, hostname, os, os_version, arch, agent_version, connected, last_seen, last_seq, policy_version)
			WHERE d.id = v.id`
	sqlWriteDevice = `UPDATE devices SET hostname = $1, os = $2, os_version = $3, arch = $4, agent_version = $5,
			connected = $6, last_seen = $7, last_seq = $8, policy_version = $9 WHERE id = $10`
	sqlAppStopped = `UPDATE device_apps SET running = 0, stopped_at = $1
				WHERE device_id = $2 AND pid = $3 AND started_at = $4`
	sqlAppVerdict = `UPDATE device_apps SET verdict = $1
				WHERE device_id = $2 AND pid = $3 AND started_at = $4`
	sqlStopAll = `UPDATE device_apps SET running = 0, stopped_at = $1
			WHERE device_id = $2 AND running = 1`
	sqlClearMedia     = `DELETE FROM device_media WHERE device_id = $1`
	sqlMediaOff       = `DELETE FROM device_media WHERE device_id = $1 AND kind = $2 AND source = $3 AND device = $4 AND pid = $5`
	sqlForgetStopped  = `DELETE FROM device_apps WHERE device_id = $1 AND running = 0 AND app_id = $2`
	sqlRefreshRunning = `UPDATE device_apps SET verdict = $1, version = $2, verified = $3, identity = $4
		WHERE device_id = $5 AND pid = $6 AND started_at = $7 AND running = 1`
	sqlCountApps    = `SELECT COUNT(*), COALESCE(SUM(running), 0) FROM device_apps WHERE device_id = $1`
	sqlEvictStopped = `DELETE FROM device_apps WHERE (device_id, pid, started_at) IN
			(SELECT device_id, pid, started_at FROM device_apps WHERE device_id = $1 AND running = 0 ORDER BY stopped_at LIMIT 1)`
	sqlInsertApp = `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, version, verified, identity, running)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
		ON CONFLICT (device_id, pid, started_at) DO UPDATE SET running = 1, stopped_at = 0, verdict = excluded.verdict,
			version = excluded.version, verified = excluded.verified, identity = excluded.identity`
	sqlRefreshMedia = `UPDATE device_media SET process = $1, app_id = $2, category = $3, session = $4, since = $5
		WHERE device_id = $6 AND kind = $7 AND source = $8 AND device = $9 AND pid = $10`
	sqlCountMedia  = `SELECT COUNT(*) FROM device_media WHERE device_id = $1`
	sqlInsertMedia = `INSERT INTO device_media (device_id, kind, source, device, pid, process, app_id, category, session, since)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (device_id, kind, source, device, pid) DO UPDATE SET process = excluded.process, app_id = excluded.app_id,
			category = excluded.category, session = excluded.session, since = excluded.since`
)

// groupStatements lists every statement a group transaction of dialect d
// may run, so the writer prepares them before its first transaction (on
// SQLite the writer's only connection is taken once a transaction begins).
func groupStatements(d dialect) []string {
	common := []string{sqlAudit, sqlAppStopped, sqlAppVerdict, sqlStopAll, sqlClearMedia, sqlMediaOff,
		sqlForgetStopped, sqlRefreshRunning, sqlCountApps, sqlEvictStopped, sqlInsertApp,
		sqlRefreshMedia, sqlCountMedia, sqlInsertMedia}
	common = append(common, connectionStatements...)
	common = append(common, sqlLatestEvent)
	if d == dialectPostgres {
		return append(common, sqlLoadDevicesPG, sqlInsertEventsPG, sqlWriteDevicesPG)
	}
	return append(common, sqlLoadDevice, sqlInsertEvent, sqlWriteDevice)
}

func (g *group) stmt(query string) (*sql.Stmt, error) {
	if st, ok := g.stmts[query]; ok {
		return st, nil
	}
	p, ok := g.w.stmts[query]
	if !ok {
		return nil, fmt.Errorf("statement not in groupStatements: %.40q", query)
	}
	// Bound to the transaction's connection, where the statement is
	// prepared once and then reused by every later transaction.
	st := g.tx.StmtContext(g.ctx, p)
	g.stmts[query] = st
	return st, nil
}

func (g *group) exec(query string, args ...any) (sql.Result, error) {
	st, err := g.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(g.ctx, args...)
}

// affected runs query and returns how many rows it changed.
func (g *group) affected(query string, args ...any) (int64, error) {
	res, err := g.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (g *group) scan(query string, args []any, dest ...any) error {
	st, err := g.stmt(query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(g.ctx, args...).Scan(dest...)
}

const devRowColumns = `id, hostname, os, os_version, arch, agent_version, connected, last_seen, last_seq, policy_version`

func (g *group) apply(reqs []*request, touches map[string]time.Time) ([]outcome, error) {
	seen := map[string]bool{}
	var ids []string
	for _, r := range reqs {
		if !seen[r.device] {
			seen[r.device] = true
			ids = append(ids, r.device)
		}
	}
	for id := range touches {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	// Sorted, so that two groups (two replicas on PostgreSQL) lock their
	// device rows in the same order and cannot deadlock each other.
	slices.Sort(ids)
	if err := g.load(ids); err != nil {
		return nil, fmt.Errorf("read devices: %w", err)
	}
	for id, t := range touches {
		if d := g.devs[id]; d != nil {
			d.lastSeen, d.dirty = micros(t), true
		}
	}
	outs := make([]outcome, len(reqs))
	for i, r := range reqs {
		d := g.devs[r.device]
		switch r.kind {
		case reqConnect:
			if d == nil {
				outs[i].err = ErrNotFound
				continue
			}
			if err := g.connect(d, r); err != nil {
				return nil, fmt.Errorf("device %s connected: %w", r.device, err)
			}
		case reqDisconnect:
			if d != nil { // an unknown device has nothing to update
				d.connected, d.lastSeen, d.dirty = 0, micros(r.now), true
			}
		case reqIngest:
			if d == nil {
				outs[i].err = fmt.Errorf("device %s: %w", r.device, ErrNotFound)
				continue
			}
			var err error
			outs[i].last, outs[i].refused, err = g.ingest(d, r)
			if err != nil {
				return nil, err
			}
		}
	}
	if err := g.flushEvents(); err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	if err := g.writeDevices(); err != nil {
		return nil, fmt.Errorf("update devices: %w", err)
	}
	return outs, nil
}

// load reads (on PostgreSQL: and locks) the rows of the devices in ids.
func (g *group) load(ids []string) error {
	g.devs = make(map[string]*devRow, len(ids))
	scanRow := func(row interface{ Scan(...any) error }) (*devRow, error) {
		d := &devRow{}
		err := row.Scan(&d.id, &d.hostname, &d.os, &d.osVersion, &d.arch, &d.agentVers,
			&d.connected, &d.lastSeen, &d.lastSeq, &d.policyVer)
		return d, err
	}
	if g.w.dialect == dialectPostgres {
		if len(ids) == 0 {
			return nil
		}
		// One round trip for every device; the row locks are held to the
		// commit, so a batch of one device on another replica waits (and
		// then sees this one's last_seq) instead of interleaving.
		st, err := g.stmt(sqlLoadDevicesPG)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(g.ctx, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanRow(rows)
			if err != nil {
				return err
			}
			g.devs[d.id] = d
		}
		return rows.Err()
	}
	// SQLite: the transaction holds the database's write lock since BEGIN
	// IMMEDIATE; a prepared lookup per device costs no round trip.
	st, err := g.stmt(sqlLoadDevice)
	if err != nil {
		return err
	}
	for _, id := range ids {
		d, err := scanRow(st.QueryRowContext(g.ctx, id))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		g.devs[id] = d
	}
	return nil
}

func (g *group) connect(d *devRow, r *request) error {
	info := r.info
	old := d.hostname
	d.hostname, d.os, d.osVersion, d.arch, d.agentVers = info.GetHostname(), info.GetOs(), info.GetOsVersion(), info.GetArch(), info.GetAgentVersion()
	d.connected, d.lastSeen, d.dirty = 1, micros(r.now), true
	if old == d.hostname {
		return nil
	}
	detail, err := json.Marshal(map[string]string{"from": old, "to": d.hostname})
	if err != nil {
		return err
	}
	if err := lockAuditOrder(g.ctx, g.tx, g.w.dialect); err != nil {
		return err
	}
	_, err = g.exec(sqlAudit,
		micros(r.now), "device:"+d.id, "device_hostname_change", "device:"+d.id, string(detail), "")
	return err
}

func (g *group) ingest(d *devRow, r *request) (uint64, []string, error) {
	last := uint64(d.lastSeq)
	var refused []string
	for i, e := range r.events {
		if e.GetSeq() <= last {
			continue
		}
		if err := g.insertEvent(d.id, e, r.blobs[i], r.now); err != nil {
			return 0, nil, fmt.Errorf("ingest event %d of %s: %w", e.GetSeq(), d.id, err)
		}
		g.refused = g.refused[:0]
		if err := g.latest(d.id, e, micros(r.now)); err != nil {
			return 0, nil, fmt.Errorf("ingest event %d of %s: %w", e.GetSeq(), d.id, err)
		}
		if err := g.applyState(d, e, r.now); err != nil {
			return 0, nil, fmt.Errorf("ingest event %d of %s: %w", e.GetSeq(), d.id, err)
		}
		refused = append(refused, g.refused...)
		last = e.GetSeq()
	}
	d.lastSeq, d.lastSeen, d.dirty = int64(last), micros(r.now), true
	return last, refused, nil
}

// refuse records that the event being applied asked for a change beyond a
// cap; each reason is reported once per event.
func (g *group) refuse(reason string) {
	if !slices.Contains(g.refused, reason) {
		g.refused = append(g.refused, reason)
	}
}

func (g *group) insertEvent(device string, e *vcguardv1.Event, payload []byte, now time.Time) error {
	at := micros(eventTime(e, now))
	if g.w.dialect == dialectPostgres {
		g.evs.device = append(g.evs.device, device)
		g.evs.seq = append(g.evs.seq, int64(e.GetSeq()))
		g.evs.typ = append(g.evs.typ, EventType(e))
		g.evs.time = append(g.evs.time, at)
		g.evs.receivedAt = append(g.evs.receivedAt, micros(now))
		g.evs.payload = append(g.evs.payload, payload)
		return nil
	}
	_, err := g.exec(sqlInsertEvent, device, int64(e.GetSeq()), EventType(e), at, micros(now), payload)
	return err
}

// pgEventChunk bounds one multi-row INSERT on PostgreSQL.
const pgEventChunk = 1000

func (g *group) flushEvents() error {
	e := g.evs
	for lo := 0; lo < len(e.device); lo += pgEventChunk {
		hi := min(lo+pgEventChunk, len(e.device))
		if _, err := g.exec(sqlInsertEventsPG,
			e.device[lo:hi], e.seq[lo:hi], e.typ[lo:hi], e.time[lo:hi], e.receivedAt[lo:hi], e.payload[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// writeDevices writes back every device row the group changed.
func (g *group) writeDevices() error {
	var dirty []*devRow
	for _, d := range g.devs {
		if d.dirty {
			dirty = append(dirty, d)
		}
	}
	if len(dirty) == 0 {
		return nil
	}
	if g.w.dialect == dialectPostgres {
		n := len(dirty)
		id, host, os, osv, arch, av := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		conn, seen, seq, pv := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		for i, d := range dirty {
			id[i], host[i], os[i], osv[i], arch[i], av[i] = d.id, d.hostname, d.os, d.osVersion, d.arch, d.agentVers
			conn[i], seen[i], seq[i], pv[i] = d.connected, d.lastSeen, d.lastSeq, d.policyVer
		}
		_, err := g.exec(sqlWriteDevicesPG, id, host, os, osv, arch, av, conn, seen, seq, pv)
		return err
	}
	for _, d := range dirty {
		if _, err := g.exec(sqlWriteDevice,
			d.hostname, d.os, d.osVersion, d.arch, d.agentVers, d.connected, d.lastSeen, d.lastSeq, d.policyVer, d.id); err != nil {
			return err
		}
	}
	return nil
}

// applyState applies an event to the device's state: its apps, media,
// policy version and the servers and accounts of its apps.
func (g *group) applyState(d *devRow, e *vcguardv1.Event, now time.Time) error {
	at := micros(eventTime(e, now))
	switch det := e.GetDetail().(type) {
	case *vcguardv1.Event_App:
		app := det.App.GetApp()
		switch det.App.GetKind() {
		case vcguardv1.AppEvent_KIND_STARTED:
			return g.startApp(d.id, app)
		case vcguardv1.AppEvent_KIND_STOPPED:
			_, err := g.exec(sqlAppStopped,
				at, d.id, app.GetPid(), micros(app.GetStarted().AsTime()))
			return err
		case vcguardv1.AppEvent_KIND_VERDICT_CHANGED:
			_, err := g.exec(sqlAppVerdict,
				VerdictName(app.GetVerdict()), d.id, app.GetPid(), micros(app.GetStarted().AsTime()))
			return err
		}
	case *vcguardv1.Event_Inventory:
		// Everything not in the inventory has stopped.
		if _, err := g.exec(sqlStopAll, at, d.id); err != nil {
			return err
		}
		for _, app := range det.Inventory.GetApps() {
			if err := g.startApp(d.id, app); err != nil {
				return err
			}
		}
		if _, err := g.exec(sqlClearMedia, d.id); err != nil {
			return err
		}
		for _, u := range det.Inventory.GetMedia() {
			if err := g.mediaOn(d.id, u); err != nil {
				return err
			}
		}
	case *vcguardv1.Event_Media:
		u := det.Media.GetUse()
		if det.Media.GetOn() {
			return g.mediaOn(d.id, u)
		}
		_, err := g.exec(sqlMediaOff,
			d.id, u.GetKind(), u.GetSource(), u.GetDevice(), u.GetPid())
		return err
	case *vcguardv1.Event_PolicyApplied:
		d.policyVer, d.dirty = int64(det.PolicyApplied.GetVersion()), true
	case *vcguardv1.Event_AppConnection:
		return g.connection(d.id, det.AppConnection, at, now)
	}
	return nil
}

// startApp records a running app instance and forgets earlier stopped
// instances of the same app. Every statement goes through an index
// (device_apps_state or the primary key), and the counts scan at most
// maxAppRows entries of one device, so the cost per event is bounded.
func (g *group) startApp(device string, app *vcguardv1.AppInstance) error {
	if _, err := g.exec(sqlForgetStopped,
		device, app.GetAppId()); err != nil {
		return err
	}
	verified := 0
	if app.GetVerified() {
		verified = 1
	}
	started := micros(app.GetStarted().AsTime())
	verdict := VerdictName(app.GetVerdict())
	// Already running (a repeated start, an inventory): refresh it.
	n, err := g.affected(sqlRefreshRunning,
		verdict, app.GetVersion(), verified, app.GetIdentity(), device, app.GetPid(), started)
	if err != nil || n > 0 {
		return err
	}
	var total, running int64
	if err := g.scan(sqlCountApps,
		[]any{device}, &total, &running); err != nil {
		return err
	}
	if running >= MaxRunningApps {
		g.refuse(RefusedRunningApps)
		return nil
	}
	if total >= maxAppRows {
		if _, err := g.exec(sqlEvictStopped,
			device); err != nil {
			return err
		}
	}
	_, err = g.exec(sqlInsertApp,
		device, app.GetPid(), started, app.GetAppId(), app.GetName(), app.GetExe(),
		verdict, app.GetVersion(), verified, app.GetIdentity())
	return err
}

// mediaOn records a camera or microphone in use.
func (g *group) mediaOn(device string, u *vcguardv1.MediaUse) error {
	since := micros(u.GetSince().AsTime())
	n, err := g.affected(sqlRefreshMedia,
		u.GetProcess(), u.GetAppId(), u.GetCategory(), u.GetSession(), since,
		device, u.GetKind(), u.GetSource(), u.GetDevice(), u.GetPid())
	if err != nil || n > 0 {
		return err
	}
	var rows int64
	if err := g.scan(sqlCountMedia, []any{device}, &rows); err != nil {
		return err
	}
	if rows >= MaxMediaRows {
		g.refuse(RefusedMediaRows)
		return nil
	}
	_, err = g.exec(sqlInsertMedia,
		device, u.GetKind(), u.GetSource(), u.GetDevice(), u.GetPid(), u.GetProcess(), u.GetAppId(), u.GetCategory(), u.GetSession(),
		since)
	return err
}
