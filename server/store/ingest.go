package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vcguard/vcguard/policies"
	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
	"google.golang.org/protobuf/proto"
)

// This file is the write path of agent streams: connect, disconnect,
// heartbeats and event ingest.

// DeviceConnected records that a device opened a stream and what it said in
// its hello. A hostname other than the stored one is recorded in the audit
// log (actor "device:ID", action "device_hostname_change") in the same
// transaction: a device can claim another's name, and IT should see when
// one did.
func (s *Store) DeviceConnected(ctx context.Context, id string, info *vcguardv1.DeviceInfo, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT hostname FROM devices WHERE id = $1`+s.forUpdate(), id).Scan(&old); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET hostname = $1, os = $2, os_version = $3, arch = $4,
			agent_version = $5, connected = 1, last_seen = $6 WHERE id = $7`,
			info.GetHostname(), info.GetOs(), info.GetOsVersion(), info.GetArch(), info.GetAgentVersion(), micros(now), id); err != nil {
			return err
		}
		if old == info.GetHostname() {
			return nil
		}
		detail, err := json.Marshal(map[string]string{"from": old, "to": info.GetHostname()})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO audit_log (at, actor, action, target, detail, remote_addr) VALUES ($1, $2, $3, $4, $5, $6)`,
			micros(now), "device:"+id, "device_hostname_change", "device:"+id, string(detail), "")
		return err
	})
	if err != nil {
		return fmt.Errorf("device %s connected: %w", id, err)
	}
	return nil
}

// DeviceDisconnected records that a device's stream ended.
func (s *Store) DeviceDisconnected(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE devices SET connected = 0, last_seen = $1 WHERE id = $2`, micros(now), id)
	if err != nil {
		return fmt.Errorf("device %s disconnected: %w", id, err)
	}
	return nil
}

// TouchDevice records that a device was heard from.
func (s *Store) TouchDevice(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE devices SET last_seen = $1 WHERE id = $2`, micros(now), id)
	if err != nil {
		return fmt.Errorf("touch device %s: %w", id, err)
	}
	return nil
}

// EventType names an event for storage and filtering.
func EventType(e *vcguardv1.Event) string {
	switch d := e.GetDetail().(type) {
	case *vcguardv1.Event_App:
		switch d.App.GetKind() {
		case vcguardv1.AppEvent_KIND_STARTED:
			return "app_started"
		case vcguardv1.AppEvent_KIND_STOPPED:
			return "app_stopped"
		case vcguardv1.AppEvent_KIND_VERDICT_CHANGED:
			return "app_verdict_changed"
		}
		return "app"
	case *vcguardv1.Event_Inventory:
		return "inventory"
	case *vcguardv1.Event_PolicyApplied:
		return "policy_applied"
	case *vcguardv1.Event_LocalPolicy:
		return "local_policy"
	case *vcguardv1.Event_Enforcement:
		return "app_blocked"
	case *vcguardv1.Event_UserNotified:
		return "user_notified"
	case *vcguardv1.Event_Media:
		state := "off"
		if d.Media.GetOn() {
			state = "on"
		}
		return d.Media.GetUse().GetKind() + "_" + state
	case *vcguardv1.Event_MediaFinding:
		return "media_finding"
	}
	return "unknown"
}

// VerdictName is the stored and displayed name of a verdict.
func VerdictName(v vcguardv1.Verdict) string { return string(policies.VerdictFromProto(v)) }

// IngestEvents stores a batch of a device's events and applies them to the
// device's state in one transaction. Events at or below the device's last
// stored sequence number are skipped, so a resent batch changes nothing. It
// returns the highest sequence number now stored.
func (s *Store) IngestEvents(ctx context.Context, deviceID string, events []*vcguardv1.Event, now time.Time) (uint64, error) {
	var last uint64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The device's row stays locked until commit, so two batches of
		// one device (a reconnect to another replica while the old stream
		// still writes) apply one after the other, as on SQLite.
		var lastSeq int64
		if err := tx.QueryRowContext(ctx, `SELECT last_seq FROM devices WHERE id = $1`+s.forUpdate(), deviceID).Scan(&lastSeq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("device %s: %w", deviceID, ErrNotFound)
			}
			return fmt.Errorf("ingest: read last sequence of %s: %w", deviceID, err)
		}
		last = uint64(lastSeq)
		for _, e := range events {
			if e.GetSeq() > math.MaxInt64 {
				// Stored as a signed 64-bit integer it would turn negative,
				// and every later event of the device would look resent.
				return fmt.Errorf("ingest: event sequence number %d of %s is above the store's range (2^63-1): %w", e.GetSeq(), deviceID, ErrInvalidEvent)
			}
			if e.GetSeq() <= last {
				continue
			}
			if err := applyEvent(ctx, tx, deviceID, e, now); err != nil {
				return fmt.Errorf("ingest event %d of %s: %w", e.GetSeq(), deviceID, err)
			}
			last = e.GetSeq()
		}
		_, err := tx.ExecContext(ctx, `UPDATE devices SET last_seq = $1, last_seen = $2 WHERE id = $3`, int64(last), micros(now), deviceID)
		return err
	})
	return last, err
}

// MaxClockSkew is how far in the future an event's time may lie, by the
// server's clock, before it is stored as received: an agent's clock runs a
// little fast, a hostile one dates its events in the year 9999 to sit on top
// of every list and escape retention for ever. The event itself (payload)
// keeps the time the agent sent.
const MaxClockSkew = 10 * time.Minute

// eventTime is the time an event is stored and purged by.
func eventTime(e *vcguardv1.Event, received time.Time) time.Time {
	at := e.GetTime().AsTime()
	if at.After(received.Add(MaxClockSkew)) {
		return received
	}
	return at
}

func applyEvent(ctx context.Context, tx *sql.Tx, deviceID string, e *vcguardv1.Event, now time.Time) error {
	payload, err := proto.Marshal(e)
	if err != nil {
		return err
	}
	at := eventTime(e, now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (device_id, seq, type, time, received_at, payload)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		deviceID, int64(e.GetSeq()), EventType(e), micros(at), micros(now), payload); err != nil {
		return err
	}
	switch d := e.GetDetail().(type) {
	case *vcguardv1.Event_App:
		app := d.App.GetApp()
		switch d.App.GetKind() {
		case vcguardv1.AppEvent_KIND_STARTED:
			return upsertRunning(ctx, tx, deviceID, app)
		case vcguardv1.AppEvent_KIND_STOPPED:
			_, err := tx.ExecContext(ctx, `UPDATE device_apps SET running = 0, stopped_at = $1
				WHERE device_id = $2 AND pid = $3 AND started_at = $4`,
				micros(at), deviceID, app.GetPid(), micros(app.GetStarted().AsTime()))
			return err
		case vcguardv1.AppEvent_KIND_VERDICT_CHANGED:
			_, err := tx.ExecContext(ctx, `UPDATE device_apps SET verdict = $1
				WHERE device_id = $2 AND pid = $3 AND started_at = $4`,
				VerdictName(app.GetVerdict()), deviceID, app.GetPid(), micros(app.GetStarted().AsTime()))
			return err
		}
	case *vcguardv1.Event_Inventory:
		// Everything not in the inventory has stopped.
		if _, err := tx.ExecContext(ctx, `UPDATE device_apps SET running = 0, stopped_at = $1
			WHERE device_id = $2 AND running = 1`, micros(at), deviceID); err != nil {
			return err
		}
		for _, app := range d.Inventory.GetApps() {
			if err := upsertRunning(ctx, tx, deviceID, app); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_media WHERE device_id = $1`, deviceID); err != nil {
			return err
		}
		for _, u := range d.Inventory.GetMedia() {
			if err := upsertMedia(ctx, tx, deviceID, u); err != nil {
				return err
			}
		}
	case *vcguardv1.Event_Media:
		u := d.Media.GetUse()
		if d.Media.GetOn() {
			return upsertMedia(ctx, tx, deviceID, u)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM device_media WHERE device_id = $1 AND kind = $2 AND source = $3 AND device = $4 AND pid = $5`,
			deviceID, u.GetKind(), u.GetSource(), u.GetDevice(), u.GetPid())
		return err
	case *vcguardv1.Event_PolicyApplied:
		_, err := tx.ExecContext(ctx, `UPDATE devices SET policy_version = $1 WHERE id = $2`, int64(d.PolicyApplied.GetVersion()), deviceID)
		return err
	}
	return nil
}

// upsertRunning records a running app instance and forgets earlier stopped
// instances of the same app.
func upsertRunning(ctx context.Context, tx *sql.Tx, deviceID string, app *vcguardv1.AppInstance) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM device_apps WHERE device_id = $1 AND app_id = $2 AND running = 0`,
		deviceID, app.GetAppId()); err != nil {
		return err
	}
	verified := 0
	if app.GetVerified() {
		verified = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO device_apps (device_id, pid, started_at, app_id, name, exe, verdict, version, verified, identity, running)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
		ON CONFLICT (device_id, pid, started_at) DO UPDATE SET running = 1, stopped_at = 0, verdict = excluded.verdict,
			version = excluded.version, verified = excluded.verified, identity = excluded.identity`,
		deviceID, app.GetPid(), micros(app.GetStarted().AsTime()), app.GetAppId(), app.GetName(), app.GetExe(),
		VerdictName(app.GetVerdict()), app.GetVersion(), verified, app.GetIdentity())
	return err
}

// upsertMedia records a camera or microphone in use.
func upsertMedia(ctx context.Context, tx *sql.Tx, deviceID string, u *vcguardv1.MediaUse) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO device_media (device_id, kind, source, device, pid, process, app_id, category, session, since)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (device_id, kind, source, device, pid) DO UPDATE SET process = excluded.process, app_id = excluded.app_id,
			category = excluded.category, session = excluded.session, since = excluded.since`,
		deviceID, u.GetKind(), u.GetSource(), u.GetDevice(), u.GetPid(), u.GetProcess(), u.GetAppId(), u.GetCategory(), u.GetSession(),
		micros(u.GetSince().AsTime()))
	return err
}
