package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

// This file keeps the SIEM export's progress (server/siem): per destination
// a lease (which replica exports now) and cursors (how far the destination
// has acknowledged).
//
// Events are exported per device in sequence order. A device's events are
// stored in that order and never filled in below its last_seq (IngestEvents
// skips them; on PostgreSQL the device row is locked to the commit), so a
// cursor of (device, seq) never passes over an event committed later. A
// global order by time would: an agent offline for a day sends yesterday's
// events today.
//
// Audit entries are exported by id. On SQLite one writer commits them in id
// order; on PostgreSQL every audit insert first takes a transaction advisory
// lock (lockAuditOrder), so no entry with a smaller id can commit after one
// with a larger id has become visible.

// ErrLeaseLost is returned by AdvanceExport when another exporter has taken
// the destination's lease (this one's expired): the batch it delivered is
// delivered again by the new holder, never lost.
var ErrLeaseLost = errors.New("export lease lost to another exporter")

// ExportBatch is what a destination has not yet acknowledged: events of some
// devices in sequence order, and audit entries in id order.
type ExportBatch struct {
	Events []StoredEvent
	// Hostnames holds the hostname of every device in Events.
	Hostnames map[string]string
	Audit     []AuditEntry
	// devices is how far each device's cursor moves when the batch is
	// acknowledged: its last event in Events, or its last_seq when the batch
	// holds all of its pending events (events purged by retention before
	// they were exported are passed over).
	devices map[string]uint64
}

// Empty reports whether the batch holds nothing to deliver and no cursor to
// move.
func (b ExportBatch) Empty() bool {
	return len(b.Events) == 0 && len(b.Audit) == 0 && len(b.devices) == 0
}

// auditOrderKey is the advisory lock every audit insert takes on PostgreSQL
// (the same for every schema: audit inserts are rare, sharing it only
// serialises a few more of them).
var auditOrderKey = lockKey("vcguard audit order", "")

// lockAuditOrder makes audit ids become visible in order on PostgreSQL: the
// lock is held to the end of tx, and ids are taken after it.
func lockAuditOrder(ctx context.Context, tx execer, d dialect) error {
	if d != dialectPostgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditOrderKey); err != nil {
		return fmt.Errorf("lock audit order: %w", err)
	}
	return nil
}

// ClaimExport takes, or renews, the lease of destination for owner until
// now+ttl. It returns false while another owner holds an unexpired lease.
func (s *Store) ClaimExport(ctx context.Context, destination, owner string, now time.Time, ttl time.Duration) (bool, error) {
	var claimed bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO siem_cursors (destination, lease_owner, lease_until, updated_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (destination) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
			WHERE siem_cursors.lease_owner = excluded.lease_owner OR siem_cursors.lease_until < $4`,
			destination, owner, micros(now.Add(ttl)), micros(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim export to %s: %w", destination, err)
	}
	return claimed, nil
}

// ReleaseExport gives the lease up, if owner holds it, so another replica
// takes over at once.
func (s *Store) ReleaseExport(ctx context.Context, destination, owner string) error {
	if _, err := s.writeDB.ExecContext(ctx, `UPDATE siem_cursors SET lease_until = 0 WHERE destination = $1 AND lease_owner = $2`,
		destination, owner); err != nil {
		return fmt.Errorf("release export to %s: %w", destination, err)
	}
	return nil
}

// PendingExport returns up to limit events and limit audit entries that
// destination has not acknowledged, each in the order of its cursor.
func (s *Store) PendingExport(ctx context.Context, destination string, limit int) (ExportBatch, error) {
	b := ExportBatch{Hostnames: map[string]string{}, devices: map[string]uint64{}}
	fail := func(err error) (ExportBatch, error) {
		return ExportBatch{}, fmt.Errorf("read pending export to %s: %w", destination, err)
	}
	type pending struct {
		id, hostname string
		from, last   int64
	}
	rows, err := s.db.QueryContext(ctx, `SELECT d.id, d.hostname, COALESCE(c.seq, 0), d.last_seq FROM devices d
		LEFT JOIN siem_device_cursors c ON c.destination = $1 AND c.device_id = d.id
		WHERE d.last_seq > COALESCE(c.seq, 0) ORDER BY d.id LIMIT $2`, destination, limit)
	if err != nil {
		return fail(err)
	}
	var devs []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.hostname, &p.from, &p.last); err != nil {
			rows.Close()
			return fail(err)
		}
		devs = append(devs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	// Each device gets a fair share of the batch, so that one device's
	// backlog does not hold the others' events back.
	share := limit
	if len(devs) > 0 {
		share = max(limit/len(devs), 1)
	}
	for _, p := range devs {
		room := min(limit-len(b.Events), share)
		if room <= 0 {
			break
		}
		evs, err := s.deviceEventsAfter(ctx, p.id, p.from, p.last, room+1)
		if err != nil {
			return fail(err)
		}
		b.Hostnames[p.id] = p.hostname
		if len(evs) > room {
			evs = evs[:room]
			b.devices[p.id] = evs[len(evs)-1].Seq
		} else {
			b.devices[p.id] = uint64(p.last)
		}
		b.Events = append(b.Events, evs...)
	}
	var auditFrom int64
	err = s.db.QueryRowContext(ctx, `SELECT audit_id FROM siem_cursors WHERE destination = $1`, destination).Scan(&auditFrom)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fail(err)
	}
	arows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, target, detail, remote_addr FROM audit_log
		WHERE id > $1 ORDER BY id LIMIT $2`, auditFrom, limit)
	if err != nil {
		return fail(err)
	}
	defer arows.Close()
	for arows.Next() {
		var e AuditEntry
		var at int64
		var detail string
		if err := arows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &detail, &e.RemoteAddr); err != nil {
			return fail(err)
		}
		e.At, e.Detail = fromMicros(at), json.RawMessage(detail)
		b.Audit = append(b.Audit, e)
	}
	if err := arows.Err(); err != nil {
		return fail(err)
	}
	return b, nil
}

// deviceEventsAfter returns up to limit events of device with from < seq <=
// last, in sequence order.
func (s *Store) deviceEventsAfter(ctx context.Context, device string, from, last int64, limit int) ([]StoredEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, type, time, received_at, payload FROM events
		WHERE device_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`, device, from, last, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredEvent
	for rows.Next() {
		e := StoredEvent{DeviceID: device}
		var seq, at, received int64
		var payload []byte
		if err := rows.Scan(&seq, &e.Type, &at, &received, &payload); err != nil {
			return nil, err
		}
		e.Seq, e.Time, e.Received = uint64(seq), fromMicros(at), fromMicros(received)
		e.Event = new(vcguardv1.Event)
		if err := proto.Unmarshal(payload, e.Event); err != nil {
			return nil, fmt.Errorf("decode stored event %s/%d: %w", device, seq, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AdvanceExport records that destination acknowledged b, and renews owner's
// lease until now+ttl. It fails with ErrLeaseLost, and moves nothing, when
// another exporter has taken the lease. Cursors only move forward.
func (s *Store) AdvanceExport(ctx context.Context, destination, owner string, b ExportBatch, now time.Time, ttl time.Duration) error {
	var auditTo int64
	if n := len(b.Audit); n > 0 {
		auditTo = b.Audit[n-1].ID
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE siem_cursors
			SET audit_id = CASE WHEN audit_id < $3 THEN $3 ELSE audit_id END, lease_until = $4, updated_at = $5
			WHERE destination = $1 AND lease_owner = $2`,
			destination, owner, auditTo, micros(now.Add(ttl)), micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrLeaseLost
		}
		for dev, seq := range b.devices {
			if _, err := tx.ExecContext(ctx, `INSERT INTO siem_device_cursors (destination, device_id, seq) VALUES ($1, $2, $3)
				ON CONFLICT (destination, device_id) DO UPDATE SET seq = excluded.seq WHERE siem_device_cursors.seq < excluded.seq`,
				destination, dev, int64(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("advance export to %s: %w", destination, err)
	}
	return nil
}
